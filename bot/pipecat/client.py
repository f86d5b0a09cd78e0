"""Async client for the Pipecat Cloud private REST API.

One shared `httpx.AsyncClient` (built by `build_http_client`, owned by the composition root).
HTTP turns into the typed errors of `bot.pipecat.errors` in `_raise_for_response`, nowhere else.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bot.clock import Clock, SystemClock
from bot.pipecat import retry
from bot.pipecat.errors import (
    BadRequest,
    NotFound,
    PipecatError,
    RateLimited,
    ServerError,
    Timeout,
    Unauthorized,
    UnexpectedResponse,
    Unreachable,
)
from bot.pipecat.models import Agent, AgentList, LogPage, Session, SessionPage
from bot.pipecat.validation import check_agent, check_session_id, segment
from bot.retry_after import retry_after_seconds

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
SessionStatus = Literal["active", "ended", "all"]
StartType = Literal["cold", "warm", "all"]
Sleep = Callable[[float], Awaitable[None]]

#: Page size asked for when walking every page; the server may cap it lower.
PAGE_SIZE = 100
#: A runaway-pagination guard: never walk more pages than this in one iteration.
MAX_PAGES = 1000


def build_http_client(base_url: str, api_key: str, *, timeout: httpx.Timeout | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url.rstrip("/") + "/",
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        timeout=timeout or retry.timeouts(),
        limits=retry.limits(),
        follow_redirects=False,
    )


@dataclass
class SessionWalk:
    """The sessions of one walk over all pages; `complete` is False when MAX_PAGES cut it short
    (what was not read is older than everything in `sessions`: the list is newest first)."""

    sessions: list[Session] = field(default_factory=list)
    complete: bool = True


class PipecatClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        clock: Clock | None = None,
        max_pages: int = MAX_PAGES,
    ):
        """`clock` measures a Retry-After given as an HTTP-date; `max_pages` bounds one walk."""
        self._http = http
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._clock = clock or SystemClock()
        self._max_pages = max_pages

    # -- endpoints -------------------------------------------------------------------------------

    async def get_session(self, agent: str, session_id: str) -> Session:
        path = f"agents/{segment(check_agent(agent))}/sessions/{segment(check_session_id(session_id))}"
        return _parse(Session, await self._request("GET", path))

    async def list_sessions(
        self,
        agent: str,
        *,
        status: SessionStatus | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        deployment_id: str | None = None,
        start_type: StartType | None = None,
        limit: int | None = None,
        offset: int | None = None,
    ) -> SessionPage:
        params = {
            "status": status,
            "startTime": start_time,
            "endTime": end_time,
            "deploymentId": deployment_id,
            "startType": start_type,
            "limit": limit,
            "offset": offset,
        }
        path = f"agents/{segment(check_agent(agent))}/sessions"
        payload = await self._request("GET", path, params=params)
        try:
            return SessionPage.from_payload(payload)
        except (ValueError, ValidationError):
            raise UnexpectedResponse("SessionPage: not a page of sessions") from None

    async def iter_sessions(
        self,
        agent: str,
        *,
        status: SessionStatus | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        start_type: StartType | None = None,
        page_size: int = PAGE_SIZE,
        walk: SessionWalk | None = None,
    ) -> AsyncIterator[Session]:
        """Every matching session across all pages (offset advances by what each page held).

        A walk cut at `max_pages` is logged and, when `walk` is given, marked incomplete there."""
        offset = 0
        for _ in range(self._max_pages):
            page = await self.list_sessions(
                agent,
                status=status,
                start_time=start_time,
                end_time=end_time,
                start_type=start_type,
                limit=page_size,
                offset=offset,
            )
            for session in page.sessions:
                yield session
            consumed = len(page.sessions) + page.skipped
            offset += consumed
            if not consumed or offset >= page.total_count:
                return
        if walk is not None:
            walk.complete = False
        logger.warning("stopped paging sessions of %s after %d pages", agent, self._max_pages)

    async def walk_sessions(self, agent: str, **filters: Any) -> SessionWalk:
        """All pages at once, saying whether the walk read them all."""
        walk = SessionWalk()
        walk.sessions = [s async for s in self.iter_sessions(agent, walk=walk, **filters)]
        return walk

    async def all_sessions(self, agent: str, **filters: Any) -> list[Session]:
        return (await self.walk_sessions(agent, **filters)).sessions

    async def list_agents(self) -> list[Agent]:
        return _parse(AgentList, await self._request("GET", "agents")).services

    async def get_agent(self, agent: str) -> Agent:
        return _parse(Agent, await self._request("GET", f"agents/{segment(check_agent(agent))}"))

    async def get_logs(
        self, agent: str, session_id: str, *, limit: int = 20, order: Literal["asc", "desc"] = "desc"
    ) -> LogPage:
        params = {"sessionId": check_session_id(session_id), "limit": limit, "order": order}
        return _parse(LogPage, await self._request("GET", f"agents/{segment(check_agent(agent))}/logs", params=params))

    async def stop_session(self, agent: str, session_id: str) -> None:
        path = f"agents/{segment(check_agent(agent))}/sessions/{segment(check_session_id(session_id))}"
        await self._request("DELETE", path)

    # -- transport -------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """Send with the retry policy (bot.pipecat.retry); return decoded JSON (None for no body)."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        policy = retry.policy(idempotent=method in retry.IDEMPOTENT_METHODS, sleep=self._sleep, rng=self._rng)
        attempts = 0
        try:
            async for attempt in policy:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    response = await _send_mapping_transport_errors(self._http, method, path, query)
                    _raise_for_response(response, self._clock)
                    result = _decode(response)
        except PipecatError as error:
            if attempts > 1:
                logger.warning("%s /%s failed after %d attempts: %s", method, path, attempts, error)
            raise
        if attempts > 1:
            logger.info("%s /%s succeeded after %d attempts", method, path, attempts)
        return result


def _raise_for_response(response: httpx.Response, clock: Clock) -> None:
    """The one place where an HTTP status becomes a typed error."""
    status = response.status_code
    if status < 400:
        return
    detail = _error_detail(response)
    if status == 404:
        raise NotFound(detail, status=status)
    if status in (401, 403):
        raise Unauthorized(detail, status=status)
    if status == 429:
        waited = retry_after_seconds(response.headers.get("Retry-After"), now=clock.now())
        raise RateLimited(detail, retry_after=waited)
    if status >= 500:
        raise ServerError(detail, status=status)
    raise BadRequest(detail, status=status)


def _error_detail(response: httpx.Response) -> str:
    """The API's own words: `error`, or `message`, plus Zod issue messages when present."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    text = str(body.get("error") or body.get("message") or "")
    err = body.get("err")
    if isinstance(err, dict) and isinstance(err.get("issues"), list):
        issues = [str(i.get("message")) for i in err["issues"] if isinstance(i, dict) and i.get("message")]
        if issues:
            text = f"{text}: {'; '.join(issues)}" if text else "; ".join(issues)
    return text[:500]


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise UnexpectedResponse(
            "response body is not valid JSON", status=response.status_code, garbled=True
        ) from None


def _parse(model: type[ModelT], payload: Any) -> ModelT:
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise UnexpectedResponse(f"{model.__name__}: {error.error_count()} invalid field(s)") from None


async def _send_mapping_transport_errors(
    http: httpx.AsyncClient, method: str, path: str, query: dict[str, Any]
) -> httpx.Response:
    try:
        return await http.request(method, path, params=query)
    except httpx.TimeoutException as error:
        raise Timeout(type(error).__name__) from None
    except httpx.TransportError as error:
        raise Unreachable(type(error).__name__) from None
    except httpx.DecodingError as error:
        # A body that cannot be decoded (a broken Content-Encoding): garbled, like truncated JSON.
        raise UnexpectedResponse(type(error).__name__, garbled=True) from None
    except httpx.HTTPError as error:
        # Anything else httpx raises (too many redirects, ...): still one of our typed errors.
        raise UnexpectedResponse(type(error).__name__) from None
