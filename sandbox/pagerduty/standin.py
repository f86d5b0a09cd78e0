"""A stand-in for PagerDuty's Events API v2 (`POST /v2/enqueue`), over real HTTP.

    pd = PagerDutyStandIn()
    async with serve(pd.app) as url:
        events_url = f"{url}/v2/enqueue"   # PAGERDUTY_EVENTS_URL; pd.routing_key is a valid key

It validates events as PagerDuty does (sandbox/pagerduty/checks.py) and answers 202
`{status: "success", message: "Event processed", dedup_key}` or 400 `{status, message, errors}`;
it records every request, and keeps PagerDuty's alert state per (routing key, dedup_key):
a trigger opens an alert or adds to the open one, acknowledge and resolve apply to the open alert
and are dropped without one; after a resolve, a trigger opens a new alert. Faults: 429, 5xx, and
"accepted then 500" (the event was ingested, the answer lost). `GET /v2/alerts` lists the alerts
(the demo page shows them).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.pagerduty.checks import MAX_BODY_BYTES, problems

#: A valid-looking integration key the stand-in accepts by default (32 letters and digits).
DEFAULT_ROUTING_KEY = "R0123456789abcdef0123456789abcde"
TRIGGERED, ACKNOWLEDGED, RESOLVED = "triggered", "acknowledged", "resolved"


@dataclass
class ReceivedEvent:
    """One request to /v2/enqueue and how it was answered."""

    body: dict[str, Any]
    status: int = 0
    answer: Any = None

    @property
    def action(self) -> str | None:
        value = self.body.get("event_action")
        return value if isinstance(value, str) else None

    @property
    def dedup_key(self) -> str | None:
        value = self.body.get("dedup_key")
        return value if isinstance(value, str) else None


@dataclass
class Alert:
    """One PagerDuty alert: what the on-call engineer sees."""

    routing_key: str
    dedup_key: str
    status: str
    summary: str
    severity: str
    source: str
    triggers: int = 1
    payload: dict[str, Any] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "dedup_key": self.dedup_key,
            "status": self.status,
            "summary": self.summary,
            "severity": self.severity,
            "source": self.source,
            "triggers": self.triggers,
            "links": self.links,
            "log": self.log,
        }


@dataclass
class _Fault:
    status: int
    accepts: bool = False  # ingest the event, then answer `status` anyway


class PagerDutyStandIn:
    def __init__(self, routing_keys: tuple[str, ...] = (DEFAULT_ROUTING_KEY,)) -> None:
        self.routing_keys = frozenset(routing_keys)
        self.routing_key = routing_keys[0]
        self.requests: list[ReceivedEvent] = []
        #: Every alert ever opened, oldest first (a resolved one stays, as in PagerDuty's history).
        self.alerts: list[Alert] = []
        self._faults: deque[_Fault] = deque()
        self._waiters: list[tuple[asyncio.Future[None], Callable[[], bool]]] = []
        self.app = Starlette(
            routes=[
                Route("/v2/enqueue", self._enqueue, methods=["POST"]),
                Route("/v2/alerts", self._list, methods=["GET"]),
            ]
        )

    # -- inspection --------------------------------------------------------------------------------

    def accepted(self, action: str | None = None) -> list[ReceivedEvent]:
        """Events answered 202 (or ingested before an injected error), optionally of one action."""
        return [e for e in self.requests if e.status == 202 and (action is None or e.action == action)]

    def alerts_for(self, dedup_key: str) -> list[Alert]:
        return [a for a in self.alerts if a.dedup_key == dedup_key]

    def open_alert(self, routing_key: str, dedup_key: str) -> Alert | None:
        for alert in reversed(self.alerts):
            if alert.routing_key == routing_key and alert.dedup_key == dedup_key and alert.status != RESOLVED:
                return alert
        return None

    async def wait_until(self, predicate: Callable[[], bool], *, within: float = 5.0) -> None:
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = (future, predicate)
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(future, within)
        except TimeoutError:
            raise TimeoutError(f"PagerDuty stand-in: condition not met within {within}s") from None
        finally:
            self._waiters.remove(waiter)

    # -- faults ------------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, *, status: int = 500) -> None:
        """The next `n` requests get HTTP `status` (500, 502, 503 ... or 429); nothing is ingested."""
        self._faults.extend(_Fault(status) for _ in range(n))

    def clear_faults(self) -> None:
        """Every fault still queued is forgotten: from now on requests are answered normally (the end
        of an outage injected with a large fail_next)."""
        self._faults.clear()

    def rate_limit_next(self, n: int = 1) -> None:
        self.fail_next(n, status=429)

    def accept_then_fail_next(self, n: int = 1, *, status: int = 500) -> None:
        """The next `n` valid events are ingested, then answered with HTTP `status` (answer lost)."""
        self._faults.extend(_Fault(status, accepts=True) for _ in range(n))

    # -- HTTP --------------------------------------------------------------------------------------

    def _notify(self) -> None:
        for future, predicate in list(self._waiters):
            if not future.done() and predicate():
                future.set_result(None)

    async def _enqueue(self, request: Request) -> Response:
        raw = await request.body()
        event = ReceivedEvent(body={})
        self.requests.append(event)
        try:
            body = json.loads(raw) if len(raw) <= MAX_BODY_BYTES else None
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return self._answer(
                event,
                400,
                _invalid(
                    "Unrecognized object",
                    "Event object format is unrecognized",
                    ["JSON parse error"] if len(raw) <= MAX_BODY_BYTES else ["Event is larger than 512 KB"],
                ),
            )
        event.body = body
        fault = self._faults.popleft() if self._faults else None
        if fault is not None and not fault.accepts:
            if fault.status == 429:
                return self._answer(event, 429, None, text="Request Limit Exceeded")
            return self._answer(event, fault.status, _invalid("internal error", "Internal Server Error", []))
        found = problems(body, self.routing_keys)
        if found:
            return self._answer(event, 400, _invalid("invalid event", "Event object is invalid", found))
        dedup_key = self._apply(body)
        if fault is not None:
            event.status = 202  # ingested: the event counts, only its answer is lost
            self._notify()
            return JSONResponse(_invalid("internal error", "Internal Server Error", []), fault.status)
        return self._answer(event, 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key})

    def _answer(self, event: ReceivedEvent, status: int, body: Any, *, text: str | None = None) -> Response:
        event.status, event.answer = status, body if body is not None else text
        self._notify()
        if body is None:
            return PlainTextResponse(text or "", status)
        return JSONResponse(body, status)

    def _apply(self, body: dict[str, Any]) -> str:
        """PagerDuty's de-duplication: events for a dedup_key apply to its open alert."""
        key: str = body["routing_key"]
        action: str = body["event_action"]
        dedup_key = str(body.get("dedup_key") or uuid.uuid4())
        alert = self.open_alert(key, dedup_key)
        if action == "trigger":
            payload: dict[str, Any] = body["payload"]
            if alert is None:
                alert = Alert(key, dedup_key, TRIGGERED, payload["summary"], payload["severity"], payload["source"])
                self.alerts.append(alert)
                alert.log.append("triggered")
            else:
                # A repeated trigger adds to the open alert (no new alert, no new notification while acknowledged).
                alert.triggers += 1
                alert.summary, alert.severity = payload["summary"], payload["severity"]
                alert.log.append("trigger")
            alert.payload = payload
            alert.links = list(body.get("links") or alert.links)
        elif alert is not None:  # acknowledge / resolve without an open alert: dropped
            alert.status = ACKNOWLEDGED if action == "acknowledge" else RESOLVED
            alert.log.append(alert.status)
        return dedup_key

    async def _list(self, request: Request) -> Response:
        return JSONResponse({"alerts": [a.view() for a in self.alerts]})


def _invalid(status: str, message: str, errors: list[str]) -> dict[str, Any]:
    return {"status": status, "message": message, "errors": errors}
