"""Fault injection for the Slack stand-in: a queue of rules consumed in order.

A rule matches a Web API method name (or any Web API method when its method is None) and fires
for its next `remaining` matching calls. The pseudo-methods RESPONSE_URL and FILE_UPLOAD name the
response-URL and upload-URL endpoints; only a rule that names them explicitly matches them.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

RESPONSE_URL = "response_url"
FILE_UPLOAD = "file_upload"
PSEUDO_METHODS = frozenset({RESPONSE_URL, FILE_UPLOAD})


class FaultKind(enum.Enum):
    #: An HTTP error status; the call is recorded, nothing is stored.
    FAIL = "fail"
    #: HTTP 429 with Retry-After; nothing is stored.
    RATE_LIMIT = "rate_limit"
    #: HTTP 200 with ok:false and the given error; nothing is stored.
    ERROR = "error"
    #: The effect happens (message stored), the answer is an HTTP error.
    ACCEPT_THEN_FAIL = "accept_then_fail"
    #: The effect happens, the answer waits until release_hangs().
    ACCEPT_THEN_HANG = "accept_then_hang"
    #: The request waits until release_hangs(), then takes effect and is answered (a slow Slack:
    #: the effect lands late, after whatever happened meanwhile).
    HOLD = "hold"


@dataclass
class Fault:
    kind: FaultKind
    method: str | None
    remaining: int
    status: int = 500
    #: Seconds, or a string sent verbatim (the HTTP-date form: `Wed, 21 Oct 2026 07:28:00 GMT`).
    retry_after: int | str = 1
    error: str = ""

    @property
    def accepts(self) -> bool:
        """Whether the request still takes effect before the faulty answer."""
        return self.kind in (FaultKind.ACCEPT_THEN_FAIL, FaultKind.ACCEPT_THEN_HANG, FaultKind.HOLD)


#: The Web API methods that change a channel (what a write outage refuses).
WRITE_METHODS = frozenset({"chat.postMessage", "chat.update"})


@dataclass(frozen=True)
class Outage:
    """A window in which every call to `methods` answers `status` (until `until`, if set)."""

    methods: frozenset[str]
    status: int
    until: datetime | None


class FaultQueue:
    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        if fault.remaining < 1:
            raise ValueError("n must be at least 1")
        with self._lock:
            self._rules.append(fault)

    def take(self, method: str) -> Fault | None:
        """The first pending rule that matches `method`, consuming one of its uses."""
        with self._lock:
            for rule in self._rules:
                if rule.method == method or (rule.method is None and method not in PSEUDO_METHODS):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()


class Hangs:
    """Requests held open by ACCEPT_THEN_HANG faults; release() lets them all answer."""

    def __init__(self) -> None:
        self._events: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._events)

    async def wait(self, on_held: Callable[[], None] | None = None) -> None:
        """Hold the caller until release(); `on_held` runs once it counts as held."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._events.append(entry)
        if on_held is not None:
            on_held()
        try:
            await entry[1].wait()
        finally:
            with self._lock:
                if entry in self._events:
                    self._events.remove(entry)

    def release(self) -> int:
        """Wake every held request (thread-safe); returns how many were held."""
        with self._lock:
            held, self._events = self._events, []
        for loop, event in held:
            if loop.is_closed():
                continue
            loop.call_soon_threadsafe(event.set)
        return len(held)
