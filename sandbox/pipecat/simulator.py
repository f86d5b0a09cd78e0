"""An in-process fake of the Pipecat Cloud private REST API that bot/pipecat/client.py calls.

A Starlette app with every route under `/v1`, state in plain objects indexed per agent, a clock
the test controls, and fault injection (5xx, 429, malformed JSON, hangs, latency). Tests, the
benchmarks and the demo share it, so its answers copy the shapes of tests/fixtures/pipecat.

    sim = PipecatSimulator(max_page_size=5)
    sim.add_agent("voice-bot")
    sim.add_session("voice-bot", "HTTP_ERROR")
    async with serve(sim.app) as url:
        client = PipecatClient(build_http_client(f"{url}/v1", sim.api_key))
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive

from bot.contracts.times import parse_iso
from sandbox.pipecat.agents import SimAgentControls
from sandbox.pipecat.http_api import (
    GONE,
    SERVICE_NOT_FOUND_BODY,
    SESSION_NOT_FOUND_BODY,
    UNAUTHORIZED_BODY,
    Fault,
    Hangs,
    RecordedRequest,
    SimNotFound,
    take_fault,
)
from sandbox.pipecat.routes import build_app
from sandbox.pipecat.state import (
    LogEntry,
    SimAgent,
    SimClock,
    SimSession,
    WallClock,
    finish,
    generated_logs,
    new_uuid,
    utc,
)
from sandbox.pipecat.webhooks import SimWebhooks

__all__ = [
    "PipecatSimulator",
    "RecordedRequest",
    "SimAgent",
    "SimClock",
    "SimNotFound",
    "SimSession",
    "SimWebhooks",
    "WallClock",
]


class PipecatSimulator(SimAgentControls):
    def __init__(
        self,
        *,
        api_key: str = "sim-key",
        clock: SimClock | None = None,
        max_page_size: int = 100,
        org: str = "sim-org",
        seed: int = 0,
    ) -> None:
        self.clock = clock or SimClock()
        self.api_key = api_key
        self.max_page_size = max_page_size
        self.org = org
        self.seed = seed
        #: Seconds of real sleep before every answer.
        self.latency = 0.0
        #: Every request received, refused ones included, in arrival order.
        self.requests: list[RecordedRequest] = []
        self._rng = random.Random(seed)
        self._organization_id = new_uuid(self._rng)
        self._agents: dict[str, SimAgent] = {}
        self._faults: list[Fault] = []
        self._hangs = Hangs()
        self._seq = itertools.count()
        #: Called with each request as it arrives, before it is answered: a test changes the
        #: world mid-walk (a session ends between two pages, a watch is added mid-poll).
        self.on_request: list[Callable[[RecordedRequest], Awaitable[None] | None]] = []
        #: Pipecat Cloud's webhooks: set `webhooks.url` to have events delivered (own random stream,
        #: so the API's ids do not depend on them).
        self.webhooks = SimWebhooks(org=org, rng=random.Random(seed + 1), now=lambda: self.clock.now())
        self.app = build_app(self)

    @property
    def agents(self) -> Mapping[str, SimAgent]:
        return self._agents

    # -- state -----------------------------------------------------------------------------------

    def add_agent(self, name: str, *, region: str = "us-west", ready: bool = True) -> None:
        if name in self._agents:
            raise ValueError(f"agent {name!r} already exists")
        self._agents[name] = SimAgent(
            name=name,
            region=region,
            ready=ready,
            service_id=new_uuid(self._rng),
            deployment_id=new_uuid(self._rng),
            created_at=self.clock.now(),
        )

    def start_session(
        self,
        agent: str,
        *,
        session_id: str | None = None,
        cold_start: bool | None = None,
        bot_start_seconds: float | None = None,
        deployment_id: str | None = None,
        created_at: datetime | None = None,
    ) -> str:
        """An active session; start data stays null (as in the API) unless given here."""
        owner = self.agent(agent)
        created = utc(created_at) if created_at is not None else self.clock.now()
        session = SimSession(
            session_id=session_id or new_uuid(self._rng),
            service_id=owner.service_id,
            organization_id=self._organization_id,
            deployment_id=deployment_id or self.serving_deployment(agent),
            created_at=created,
            seq=next(self._seq),
            updated_at=created,
            cold_start=cold_start,
            bot_start_seconds=bot_start_seconds,
        )
        owner.add(session)
        return session.session_id

    def end_session(
        self,
        agent: str,
        session_id: str,
        completion_status: str = "HTTP_COMPLETED",
        *,
        end_state: str | None = None,
        at: datetime | None = None,
    ) -> None:
        session = self.session(agent, session_id)
        if session.raw is not None or not session.active:
            raise ValueError(f"session {session_id} is not an active simulated session")
        ended = max(utc(at) if at is not None else self.clock.now(), session.created_at)
        finish(session, completion_status, end_state, ended, self.seed)
        for when, text in generated_logs(session, self.agent(agent).failure_log):
            self.add_log(agent, session.session_id, text, at=when)

    def add_session(
        self,
        agent: str,
        completion_status: str = "HTTP_COMPLETED",
        *,
        duration_seconds: float = 30,
        end_state: str | None = None,
        session_id: str | None = None,
        cold_start: bool | None = None,
        bot_start_seconds: float | None = None,
        deployment_id: str | None = None,
    ) -> str:
        """An ended session: created `duration_seconds` ago, ended now."""
        now = self.clock.now()
        sid = self.start_session(
            agent,
            session_id=session_id,
            cold_start=cold_start,
            bot_start_seconds=bot_start_seconds,
            deployment_id=deployment_id,
            created_at=now - timedelta(seconds=duration_seconds),
        )
        self.end_session(agent, sid, completion_status, end_state=end_state, at=now)
        return sid

    def add_raw_session(self, agent: str, payload: dict[str, Any]) -> None:
        """Serve `payload` as-is (fixtures, malformed data); only what parses is used to filter."""
        owner = self.agent(agent)
        raw_id, raw_deployment, raw_cold = (payload.get(k) for k in ("sessionId", "deploymentId", "coldStart"))
        created = parse_iso(payload.get("createdAt")) or self.clock.now()
        owner.add(
            SimSession(
                session_id=raw_id if isinstance(raw_id, str) else new_uuid(self._rng),
                service_id=owner.service_id,
                organization_id=self._organization_id,
                deployment_id=raw_deployment if isinstance(raw_deployment, str) else None,
                created_at=created,
                seq=next(self._seq),
                updated_at=created,
                cold_start=raw_cold if isinstance(raw_cold, bool) else None,
                raw=payload,
            )
        )

    def set_failure_log(self, agent: str, lines: list[str] | tuple[str, ...] | None) -> None:
        """What this agent's failed sessions log from now on (templates, see `generated_logs`)."""
        self.agent(agent).failure_log = tuple(lines) if lines is not None else None

    def add_log(self, agent: str, session_id: str, text: str, *, at: datetime | None = None) -> None:
        owner = self.agent(agent)
        session = owner.sessions.get(session_id.lower())
        deployment = session.deployment_id if session else owner.deployment_id
        when = utc(at) if at is not None else self.clock.now()
        owner.logs.append(LogEntry(when, next(self._seq), session_id.lower(), text, deployment))

    def forget_sessions(self, agent: str, ended_before: datetime) -> int:
        """Forget `agent`'s sessions that ended before `ended_before` (and their logs), as if they
        had aged out: hours of simulated traffic keep the list and log answers fast."""
        return self.agent(agent).forget(ended_before)

    # -- faults ----------------------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int = 500,
        *,
        body: dict[str, Any] | str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next `n` matching requests get `status` (a JSON body like error-500.json by default)."""
        self._add_fault(Fault("fail", n, path_contains, status=status, body=body))

    def rate_limit_next(
        self,
        n: int,
        retry_after: float | None = None,
        *,
        path_contains: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """429 like error-429.json; `Retry-After` only when given (the real API documents none):
        seconds, or with `retry_at` the HTTP-date form."""
        self._add_fault(Fault("rate_limit", n, path_contains, retry_after=retry_after, retry_at=retry_at))

    def bad_encoding_next(self, n: int, *, path_contains: str | None = None) -> None:
        """200 whose `Content-Encoding: gzip` body is not gzip (a broken proxy)."""
        self._add_fault(Fault("bad_encoding", n, path_contains))

    def malformed_next(self, n: int, *, path_contains: str | None = None) -> None:
        """200 with a truncated, unparseable JSON body."""
        self._add_fault(Fault("malformed", n, path_contains))

    def hang_next(self, n: int, *, path_contains: str | None = None) -> None:
        """Never answer until `release_hangs()` (or until the client hangs up)."""
        self._add_fault(Fault("hang", n, path_contains))

    def release_hangs(self) -> None:
        """Let every parked request go on to its normal answer; safe from another thread."""
        self._hangs.release()

    @property
    def abandoned_hangs(self) -> int:
        """Hung requests the client gave up on (it timed out and disconnected), so far."""
        return self._hangs.abandoned

    @property
    def hanging(self) -> int:
        """Requests parked right now (lets a test wait until a hang has really started)."""
        return len(self._hangs)

    def clear_faults(self) -> None:
        self._faults.clear()

    def _add_fault(self, fault: Fault) -> None:
        if fault.remaining > 0:
            self._faults.append(fault)

    # -- HTTP ------------------------------------------------------------------------------------

    async def screen(self, request: Request, receive: Receive) -> Response | None:
        """Record, delay, inject faults, check auth. None lets the request reach the routes."""
        path = request.url.path
        query = dict(request.query_params)
        recorded = RecordedRequest(request.method, path, query, self.clock.now())
        self.requests.append(recorded)
        for hook in list(self.on_request):
            outcome = hook(recorded)
            if outcome is not None:
                await outcome
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        fault = take_fault(self._faults, path)
        if fault is not None and fault.kind == "hang":
            if not await self._hangs.wait(receive):
                return GONE
            fault = None
        if fault is not None:
            return fault.response()
        # Bytes: compare_digest refuses non-ASCII str, and a header may hold anything.
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, f"Bearer {self.api_key}".encode()):
            return JSONResponse(UNAUTHORIZED_BODY, status_code=401)
        return None

    @property
    def organization_id(self) -> str:
        return self._organization_id

    def agent(self, name: str) -> SimAgent:
        """The agent's state; SimNotFound (served as the API's 404) if unknown."""
        agent = self._agents.get(name)
        if agent is None:
            raise SimNotFound(SERVICE_NOT_FOUND_BODY)
        return agent

    def session(self, agent: str, session_id: str) -> SimSession:
        """One session's state (id in any case); SimNotFound if unknown."""
        session = self.agent(agent).sessions.get(session_id.lower())
        if session is None:
            raise SimNotFound(SESSION_NOT_FOUND_BODY)
        return session
