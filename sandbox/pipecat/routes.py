"""The Starlette app of the Pipecat Cloud simulator: routes under `/v1` and the request gate.

Handlers only read query parameters (refusing bad ones with the API's Zod-style 400) and shape
answers; state lives in `PipecatSimulator`, fault injection and auth in its `screen`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.pipecat.agents import AT_CAPACITY_BODY, details, list_item
from sandbox.pipecat.http_api import GONE, BadParam, SimNotFound, enum_param, int_param, zod_response
from sandbox.pipecat.state import SimAgent

if TYPE_CHECKING:
    from sandbox.pipecat.simulator import PipecatSimulator

#: `limit` of a session list when the caller gives none (documented default).
DEFAULT_PAGE_SIZE = 10
#: Log lines per page: default and hard cap (the real maximum is undocumented).
DEFAULT_LOG_LIMIT = 100
MAX_LOG_LIMIT = 1000


class _Gate:
    """ASGI middleware running `sim.screen` before routing, so even unknown paths are recorded."""

    def __init__(self, app: ASGIApp, sim: PipecatSimulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response = await self.sim.screen(Request(scope), receive)
        if response is None:
            await self.app(scope, receive, send)
        elif response is not GONE:
            await response(scope, receive, send)


def build_app(sim: PipecatSimulator) -> Starlette:
    h = _Handlers(sim)
    session = "/sessions/{session_id}"
    routes = [
        Route("/v1/agents", h.list_agents, methods=["GET"]),
        Route("/v1/agents/{agent}", h.get_agent, methods=["GET"]),
        Route("/v1/agents/{agent}/sessions", h.list_sessions, methods=["GET"]),
        Route("/v1/agents/{agent}" + session, h.get_session, methods=["GET"]),
        Route("/v1/agents/{agent}" + session, h.stop_session, methods=["DELETE"]),
        Route("/v1/agents/{agent}/logs", h.get_logs, methods=["GET"]),
        Route("/v1/public/{agent}/start", h.start_agent, methods=["POST"]),
        # The official `pcc` CLI's spelling of the same two reads.
        Route("/v1/organizations/{org}/services/{agent}/sessions", h.list_sessions, methods=["GET"]),
        Route("/v1/organizations/{org}/services/{agent}" + session, h.get_session, methods=["GET"]),
    ]
    handlers: dict[Any, Any] = {
        SimNotFound: _not_found_response,
        BadParam: _bad_param_response,
        HTTPException: _http_error_response,
    }
    return Starlette(routes=routes, middleware=[Middleware(_Gate, sim=sim)], exception_handlers=handlers)


class _Handlers:
    def __init__(self, sim: PipecatSimulator) -> None:
        self.sim = sim

    def _agent(self, request: Request) -> SimAgent:
        org = request.path_params.get("org")
        if org is not None and org != self.sim.org:
            raise SimNotFound({"error": "Organization not found", "code": "NOT_FOUND"})
        return self.sim.agent(request.path_params["agent"])

    async def list_agents(self, request: Request) -> Response:
        now, org = self.sim.clock.now(), self.sim.organization_id
        return JSONResponse({"services": [list_item(a, org, now) for a in self.sim.agents.values()]})

    async def get_agent(self, request: Request) -> Response:
        return JSONResponse(details(self._agent(request), self.sim.clock.now()))

    async def start_agent(self, request: Request) -> Response:
        """`POST /public/{agent}/start`: a new session, or 429 PCC-AGENT-AT-CAPACITY when every
        replica is busy (activeSessionCount has reached autoScaling.maxReplicas)."""
        agent = self._agent(request)
        if self.sim.at_capacity(agent.name):
            return JSONResponse(AT_CAPACITY_BODY, status_code=429)
        return JSONResponse({"sessionId": self.sim.start_session(agent.name)})

    async def get_session(self, request: Request) -> Response:
        agent = self._agent(request)
        return JSONResponse(self.sim.session(agent.name, request.path_params["session_id"]).detail())

    async def stop_session(self, request: Request) -> Response:
        agent = self._agent(request)
        session = self.sim.session(agent.name, request.path_params["session_id"])
        if session.raw is None and session.active:  # stopping an ended session is a no-op, not an error
            self.sim.end_session(agent.name, session.session_id, "HTTP_COMPLETED", end_state="terminated")
        return JSONResponse({})

    async def list_sessions(self, request: Request) -> Response:
        agent = self._agent(request)
        q = dict(request.query_params)
        status = enum_param(q, "status", ("active", "ended", "all"), "all")
        start_type = enum_param(q, "startType", ("cold", "warm", "all"), "all")
        limit = min(int_param(q, "limit", DEFAULT_PAGE_SIZE, minimum=1), self.sim.max_page_size)
        offset = int_param(q, "offset", 0)
        start, end = int_param(q, "startTime", None), int_param(q, "endTime", None)
        deployment = q.get("deploymentId")
        # The official CLI filters on endState (one value or a comma-separated list, any case).
        end_states = {v.strip().lower() for v in (q.get("endState") or "").split(",") if v.strip()}
        wanted_cold = {"cold": True, "warm": False}.get(start_type or "all")
        matched = [
            s
            for s in agent.newest_first()
            if (status == "all" or s.active == (status == "active"))
            and (not end_states or (s.end_state or "").lower() in end_states)
            and (start is None or s.created_second >= start)
            and (end is None or s.created_second <= end)
            and (deployment is None or s.deployment_id == deployment)
            and (wanted_cold is None or s.cold_start is wanted_cold)
        ]
        page = matched[offset : offset + limit]
        return JSONResponse({"total_count": len(matched), "sessions": [s.list_item() for s in page]})

    async def get_logs(self, request: Request) -> Response:
        agent = self._agent(request)
        q = dict(request.query_params)
        order = enum_param(q, "order", ("asc", "desc"), "desc")
        limit = min(int_param(q, "limit", DEFAULT_LOG_LIMIT, minimum=1), MAX_LOG_LIMIT)
        offset = int_param(q, "offset", 0)
        start, end = int_param(q, "startTime", None), int_param(q, "endTime", None)
        session_id, text = q.get("sessionId"), (q.get("query") or "").lower()
        deployment = q.get("deploymentId")
        matched = [
            e
            for e in agent.logs
            if (session_id is None or e.session_id == session_id.lower())
            and (deployment is None or e.deployment_id == deployment)
            and (not text or text in e.text.lower())
            and (start is None or e.at.timestamp() >= start)
            and (end is None or e.at.timestamp() < end + 1)  # inclusive of the whole end second
        ]
        matched.sort(key=lambda e: (e.at, e.seq), reverse=order == "desc")
        page = [e.to_json() for e in matched[offset : offset + limit]]
        return JSONResponse({"total": {"value": len(matched), "relation": "eq"}, "logs": page})


async def _not_found_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimNotFound)
    return JSONResponse(exc.body, status_code=404)


async def _bad_param_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadParam)
    return zod_response(exc.issue)


async def _http_error_response(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods answer in the API's `{error, code}` shape, not Starlette's text."""
    assert isinstance(exc, HTTPException)
    code = "NOT_FOUND" if exc.status_code == 404 else str(exc.status_code)
    return JSONResponse({"error": exc.detail, "code": code}, status_code=exc.status_code)
