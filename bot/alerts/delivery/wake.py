"""Wake: how anything that enqueued work asks the delivery job to run now.

The incident keeper and the store's enqueue hook must be able to wake delivery, and the job that
delivers is built from them: the composition root builds a Wake first, hands it to both, and
connects the delivery job to it once that exists (bot/wiring.py)."""

from __future__ import annotations

from collections.abc import Callable


class Wake:
    def __init__(self) -> None:
        self._target: Callable[[], None] | None = None

    def connect(self, target: Callable[[], None]) -> None:
        self._target = target

    def __call__(self) -> None:
        if self._target is not None:
            self._target()
