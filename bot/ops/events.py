"""What the pipeline tells whoever observes it: the one way metrics and log context reach the
poller, the deliverer, the PagerDuty delivery and the access gate.

Each stage takes a `PipelineEvents` in its constructor and calls it where the thing happened; the
composition root (bot/wiring.py) passes `MeteredEvents` (bot/ops/instrument.py) in the app and
`NO_EVENTS` where nothing observes (the terminal tools, benchmarks of pure stages). Nothing is
patched onto an instance: a reader of a stage sees every call it makes.
"""

from __future__ import annotations

from typing import Protocol


class PipelineEvents(Protocol):
    def poll_started(self, agent: str) -> None:
        """One agent's poll begins, in a task of its own (its log lines name the agent)."""

    def polls_recorded(self, count: int, enqueued: int) -> None:
        """`count` polls were recorded as successful; `enqueued` alert rows came of them."""

    def poll_failed(self, agent: str) -> None:
        """One agent's poll failed (recorded; the next cycle tries again)."""

    def post_claimed(self, *, agent: str, session: str, dedup_key: str, channel: str) -> None:
        """A delivery pass claimed one outbox row: the log lines until the next claim are about it."""

    def alert_finished(self, *, sent: bool) -> None:
        """An alert row reached its end: sent, or given up (`sent` False)."""

    def interaction(self, *, kind: str, action: str, result: str) -> None:
        """A command, shortcut or button ended in its audit record."""


class NoEvents:
    """Observes nothing."""

    def poll_started(self, agent: str) -> None:
        pass

    def polls_recorded(self, count: int, enqueued: int) -> None:
        pass

    def poll_failed(self, agent: str) -> None:
        pass

    def post_claimed(self, *, agent: str, session: str, dedup_key: str, channel: str) -> None:
        pass

    def alert_finished(self, *, sent: bool) -> None:
        pass

    def interaction(self, *, kind: str, action: str, result: str) -> None:
        pass


NO_EVENTS: PipelineEvents = NoEvents()
