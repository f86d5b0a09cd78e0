"""Async client for the Pipecat Cloud private REST API.

One shared `httpx.AsyncClient` (built by `build_http_client`, owned by the composition root).
HTTP turns into the typed errors of `bot.pipecat.errors` through its `error_for_status`, nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from pydantic import ValidationError

from bot.clock import Clock, SystemClock
from bot.pipecat import retry
from bot.pipecat.errors import (
    PipecatError,
    Timeout,
    UnexpectedResponse,
    Unreachable,
    error_detail,
    error_for_status,
)
from bot.pipecat.models import Agent, AgentList, LogLine, LogPage, Session, SessionLog, SessionPage, with_session_id
from bot.pipecat.models import parse as _parse
from bot.pipecat.validation import check_agent, check_session_id, segment, session_path
from bot.retry_after import retry_after_seconds

logger = logging.getLogger(__name__)

SessionStatus = Literal["active", "ended", "all"]
StartType = Literal["cold", "warm", "all"]
Sleep = Callable[[float], Awaitable[None]]

#: Page size asked for when walking every page; the server may cap it lower.
PAGE_SIZE = 100
#: A runaway-pagination guard: never walk more pages than this in one iteration.
MAX_PAGES = 1000
#: A session's log is read oldest first, this many lines a page, at most SESSION_LOG_MAX_LINES.
SESSION_LOG_PAGE_SIZE = 100
SESSION_LOG_MAX_LINES = 300


def build_http_client(
    base_url: str,
    api_key: str,
    *,
    timeout: httpx.Timeout | None = None,
    wrap_transport: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] | None = None,
) -> httpx.AsyncClient:
    """`wrap_transport`: e.g. the metrics' MeteredTransport around the pooled transport.

    The transport is aiohttp's (through httpx-aiohttp, which maps its errors onto httpx's): the
    client's API, errors and timeouts stay httpx's, at a fifth of httpcore's CPU per request, which
    is most of what an idle poll costs."""
    from httpx_aiohttp import AiohttpTransport  # lazily: the terminal lookup never loads aiohttp

    transport = AiohttpTransport(limits=retry.limits())
    return httpx.AsyncClient(
        transport=wrap_transport(transport) if wrap_transport else transport,
        base_url=base_url.rstrip("/") + "/",
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        timeout=timeout or retry.timeouts(),
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
        payload = await self._request("GET", session_path(agent, session_id))
        return _parse(Session, with_session_id(payload, check_session_id(session_id)))

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
        async for page in self._pages(agent, status, start_time, end_time, start_type, page_size, walk):
            for session in page:
                yield session

    async def walk_sessions(
        self,
        agent: str,
        *,
        status: SessionStatus | None = None,
        start_time: int | None = None,
        end_time: int | None = None,
        start_type: StartType | None = None,
        enough: Callable[[Sequence[Session]], bool] | None = None,
    ) -> SessionWalk:
        """All pages at once, saying whether the walk read them all. `enough`, asked after each
        page with everything read so far, ends the walk early when it answers True (a walk its
        caller ended is complete: what it needed was read)."""
        walk = SessionWalk()
        pages = self._pages(agent, status, start_time, end_time, start_type, PAGE_SIZE, walk)
        async with contextlib.aclosing(pages):
            async for page in pages:
                walk.sessions.extend(page)
                if enough is not None and enough(walk.sessions):
                    break
        return walk

    async def _pages(
        self,
        agent: str,
        status: SessionStatus | None,
        start_time: int | None,
        end_time: int | None,
        start_type: StartType | None,
        page_size: int,
        walk: SessionWalk | None,
    ) -> AsyncGenerator[list[Session], None]:
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
            yield page.sessions
            consumed = len(page.sessions) + page.skipped
            offset += consumed
            if not consumed or not page.more_after(offset):
                return
        if walk is not None:
            walk.complete = False
        logger.warning("stopped paging sessions of %s after %d pages", agent, self._max_pages)

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

    async def deployment_sessions(
        self, agent: str, deployment_id: str, *, start_time: int, cap: int, page_size: int = PAGE_SIZE
    ) -> list[Session]:
        """Sessions of one deployment created since `start_time`, all pages up to `cap` (the list
        has no status filter, so a failure rate means walking it)."""
        found: list[Session] = []
        offset = 0
        while len(found) < cap:
            page = await self.list_sessions(
                agent, status="all", deployment_id=deployment_id, start_time=start_time, limit=page_size, offset=offset
            )
            found.extend(page.sessions)
            offset += len(page.sessions) + page.skipped
            if (not page.sessions and not page.skipped) or not page.more_after(offset):
                break
        return found[:cap]

    async def session_log(
        self,
        agent: str,
        session_id: str,
        *,
        max_lines: int = SESSION_LOG_MAX_LINES,
        page_size: int = SESSION_LOG_PAGE_SIZE,
    ) -> SessionLog:
        """One session's log, oldest first, paged, bounded to `max_lines` (a cause is near the
        start of the trouble; a chatty session must not cost unbounded reads)."""
        check_agent(agent)
        sid = check_session_id(session_id)
        path = f"agents/{segment(agent)}/logs"
        lines: list[LogLine] = []
        complete = False
        while len(lines) < max_lines and not complete:
            limit = min(page_size, max_lines - len(lines))
            params = {"sessionId": sid, "order": "asc", "limit": limit, "offset": len(lines)}
            page = _parse(LogPage, await self._request("GET", path, params=params))
            lines.extend(page.logs)
            total = page.total.value if page.total and page.total.value is not None else None
            complete = len(page.logs) < limit or (total is not None and len(lines) >= total)
        return SessionLog(lines=tuple(lines[:max_lines]), complete=complete)

    async def get_path(self, path: str) -> Any:
        """GET a path already checked and percent-encoded, query included (the terminal lookup's
        reads beyond the session: bot/cli_lookup.py); decoded JSON."""
        return await self._request("GET", path)

    async def stop_session(self, agent: str, session_id: str) -> None:
        await self._request("DELETE", session_path(agent, session_id))

    # -- transport -------------------------------------------------------------------------------

    async def _request(self, method: str, path: str, *, params: dict[str, Any] | None = None) -> Any:
        """Send with the retry policy (bot.pipecat.retry); return decoded JSON (None for no body).

        The first try is made bare and the policy takes over only when it failed retryably:
        tenacity's bookkeeping was a tenth of an idle poll's CPU, spent on requests that succeed."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        idempotent = method in retry.IDEMPOTENT_METHODS

        async def attempt() -> Any:
            response = await _send_mapping_transport_errors(self._http, method, path, query)
            _raise_for_response(response, self._clock)
            return _decode(response)

        try:
            return await attempt()
        except PipecatError as error:
            if not (idempotent and retry.retryable(error)):
                raise
            first = error
        await self._sleep(retry.wait_seconds(first, 1, self._rng))
        attempts = 1
        try:
            async for step in retry.policy(idempotent=True, sleep=self._sleep, rng=self._rng, after_attempts=1):
                with step:
                    attempts = 1 + step.retry_state.attempt_number
                    result = await attempt()
        except PipecatError as error:
            logger.warning("%s /%s failed after %d attempts: %s", method, path, attempts, error)
            raise
        logger.info("%s /%s succeeded after %d attempts", method, path, attempts)
        return result


def _raise_for_response(response: httpx.Response, clock: Clock) -> None:
    """Where an httpx answer meets the one status mapping (errors.error_for_status)."""
    status = response.status_code
    if status < 400:
        return
    waited = retry_after_seconds(response.headers.get("Retry-After"), now=clock.now()) if status == 429 else None
    error = error_for_status(status, _error_detail(response), retry_after=waited)
    if error is not None:
        raise error


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    return error_detail(body)


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        raise UnexpectedResponse("response body is not valid JSON", status=response.status_code, garbled=True) from None


def _build(http: httpx.AsyncClient, method: str, path: str, query: dict[str, Any]) -> httpx.Request:
    """The request as `http.build_request` makes it (the client's headers and timeouts, `path`
    under its base URL), from one string: build_request parses and merges the URL twice over,
    which was a tenth of an idle poll's CPU. `path` is already percent-encoded (`segment`)."""
    url = f"{http.base_url}{path}"
    return httpx.Request(
        method,
        f"{url}?{urlencode(query)}" if query else url,
        headers=http.headers,
        extensions={"timeout": http.timeout.as_dict()},
    )


async def _send_mapping_transport_errors(
    http: httpx.AsyncClient, method: str, path: str, query: dict[str, Any]
) -> httpx.Response:
    try:
        return await http.send(_build(http, method, path, query))
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
