"""Work that runs after Slack has its ack.

Listeners ack, then hand their work to `AfterAck.spawn` and return: with Bolt's
`process_before_response=True` the HTTP answer leaves as soon as the listener returns (no polling
for `ack()`, and no deep copy of the request as Bolt's lazy listeners make). The work then waits,
briefly, while other Slack requests are still being answered and until answers stop coming
(`QUIET_SECONDS`), so a burst of commands is acknowledged before any of them starts its API
calls; bench/ack.py measures the effect. Tasks are kept until done (never garbage-collected
mid-flight), failures are logged with their traceback, and shutdown waits for what is running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from typing import Any

logger = logging.getLogger(__name__)

#: Work never waits longer than this for the acks in flight (a steady stream must not starve it).
MAX_WAIT_SECONDS = 0.25
#: Answers closer together than this are a burst, which is over when nothing was answered for
#: this long: its requests do not arrive at once (each opens a connection), and between two of
#: them nothing is in flight for a moment. A lone request's work does not wait.
QUIET_SECONDS = 0.01


class AfterAck:
    def __init__(self, max_wait: float = MAX_WAIT_SECONDS, quiet: float = QUIET_SECONDS) -> None:
        self._in_flight = 0
        #: Set when nothing is in flight and nothing was answered for `quiet` seconds. One event and
        #: one timer for every waiting task: a burst of 50 wakes each of them once, not per answer.
        self._calm = asyncio.Event()
        self._calm.set()
        self._calming: asyncio.TimerHandle | None = None
        self._last_answered = float("-inf")
        self._max_wait = max_wait
        self._quiet = quiet
        self._tasks: set[asyncio.Task[None]] = set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Wrap the handling of one request from Slack, up to its HTTP answer."""
        self._in_flight += 1
        self._calm.clear()
        if self._calming is not None:
            self._calming.cancel()
            self._calming = None
        try:
            yield
        finally:
            self._in_flight -= 1
            loop = asyncio.get_running_loop()
            now = loop.time()
            in_burst, self._last_answered = now - self._last_answered < self._quiet, now
            if not self._in_flight:
                if in_burst:
                    self._calming = loop.call_later(self._quiet, self._calm.set)
                else:
                    self._calm.set()

    async def wait_turn(self) -> None:
        """Return once no request is in flight and, after a burst, none was answered for `quiet`
        seconds; or after `max_wait` seconds whatever happens."""
        if self._calm.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._max_wait):
                await self._calm.wait()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._after_acks(work))
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def _after_acks(self, work: Coroutine[Any, Any, None]) -> None:
        await self.wait_turn()
        await work

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            logger.error("work after an ack failed", exc_info=error)

    async def drain(self, grace_seconds: float) -> None:
        """Shutdown: let running work finish (answers in flight are not dropped), up to `grace_seconds`."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)
