"""A stand-in for the Slack Web API (https://slack.com/api/) and response URLs, over real HTTP.

    standin = SlackStandIn()
    standin.add_channel("C0ONCALL", "voice-oncall")
    async with serve(standin.app) as url:
        standin.base_url = url
        client = AsyncWebClient(token=standin.bot_token, base_url=f"{url}/api/")

Routes: `/api/{method}` (GET or POST, form / JSON / query arguments), `POST /response/{key}`
(response URLs, 5 uses each), `POST /upload/v1/{file_id}` (the upload step of files_upload_v2)
and `GET /files/{file_id}/{name}` (a shared file's bytes). It keeps a workspace model
(channels, messages, threads, files, views) that tests and the demo page read, records every call,
and injects faults: HTTP errors, 429s, `ok:false` errors, accepted-then-failed or -hung answers,
latency and a per-channel rate limit for chat.postMessage.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sandbox.slack.checks import parse_multipart, read_args, scope_problem
from sandbox.slack.faults import (
    FILE_UPLOAD,
    RESPONSE_URL,
    WRITE_METHODS,
    Fault,
    FaultKind,
    FaultQueue,
    Hangs,
    Outage,
)
from sandbox.slack.methods import METHODS, err
from sandbox.slack.model import (
    Channel,
    RecordedCall,
    ResponsePost,
    ResponseUrl,
    StoredFile,
    StoredMessage,
)
from sandbox.slack.surfaces import SURFACE_METHODS
from sandbox.slack.workspace import DEFAULT_USER, Workspace

__all__ = [
    "DEFAULT_USER",
    "FILE_UPLOAD",
    "RESPONSE_URL",
    "Channel",
    "RecordedCall",
    "ResponsePost",
    "SlackStandIn",
    "StoredFile",
    "StoredMessage",
]

#: Slack's limit on posts to one response URL.
RESPONSE_URL_USES = 5
Waiter = tuple[asyncio.AbstractEventLoop, "asyncio.Future[None]", Callable[[], bool]]


class SlackStandIn(Workspace):
    """The Web API + response URLs as one Starlette app (`app`), with the workspace it models."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        bot_user_id: str = "UBOT",
        team_id: str = "T0001",
        bot_id: str = "B0BOT",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """`clock`: where message timestamps come from (the simulator's clock in tests)."""
        super().__init__(bot_token=bot_token, bot_user_id=bot_user_id, team_id=team_id, bot_id=bot_id, clock=clock)
        self._clock = clock
        #: A long outage window (start_outage): every matching call answers its status.
        self._outage: Outage | None = None
        self.calls: list[RecordedCall] = []
        self.response_posts: list[ResponsePost] = []
        #: Every Web API call answered with HTTP 429 (injected or by the channel rate limit).
        self.rate_limited: list[RecordedCall] = []
        #: Seconds slept before handling every request (Web API, response URL, upload).
        self.latency: float = 0.0
        #: How the latency is waited out; a test swaps in one driven by its own clock.
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        #: chat.postMessage posts per second per channel (a post sooner than 1/rate s after the channel's
        #: last accepted one gets 429, Retry-After 1); None: no limit.
        self.channel_rate_limit: float | None = None
        self.faults = FaultQueue()
        self._hangs = Hangs()
        self._waiters: list[Waiter] = []
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{key}", self._response, methods=["POST"]),
                Route("/upload/v1/{file_id}", self._upload, methods=["POST"]),
                Route("/files/{file_id}/{name}", self._file, methods=["GET"]),
            ]
        )

    # -- inspection ------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def posts_to_response(self, key: str) -> list[ResponsePost]:
        """Every post to that response URL, refused ones (status 404) included."""
        return [p for p in self.response_posts if p.key == key]

    @property
    def hanging(self) -> int:
        """How many requests an accept_then_hang fault is holding open right now."""
        return self._hangs.count

    async def wait_until(self, predicate: Callable[[], bool], *, within: float = 5.0) -> None:
        """Wait (without polling) until `predicate()` holds; re-checked whenever the stand-in
        records or answers something. Raises TimeoutError after `within` seconds."""
        if predicate():
            return
        loop = asyncio.get_running_loop()
        waiter: Waiter = (loop, loop.create_future(), predicate)
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter[1], within)
        except TimeoutError:
            raise TimeoutError(f"Slack stand-in: condition not met within {within}s") from None
        finally:
            self._waiters.remove(waiter)

    async def wait_for_calls(self, method: str, count: int = 1, *, within: float = 5.0) -> list[RecordedCall]:
        """Wait until `count` calls to `method` have been answered; returns all calls to it."""
        await self.wait_until(lambda: sum(c.status is not None for c in self.calls_to(method)) >= count, within=within)
        return self.calls_to(method)

    # -- fault injection ---------------------------------------------------------------------------

    def fail_next(self, method: str | None, n: int = 1, *, status: int = 500) -> None:
        """The next `n` matching calls get an HTTP `status` error; nothing is stored."""
        self.faults.add(Fault(FaultKind.FAIL, method, n, status=status))

    def rate_limit_next(self, method: str | None, n: int = 1, *, retry_after: int | str = 1) -> None:
        """The next `n` matching calls get HTTP 429 with `Retry-After` (seconds, or a string such as
        an HTTP-date, sent as given); nothing is stored."""
        self.faults.add(Fault(FaultKind.RATE_LIMIT, method, n, status=429, retry_after=retry_after))

    def error_next(self, method: str | None, error: str, n: int = 1) -> None:
        """The next `n` matching calls get HTTP 200 `{"ok": false, "error": error}`; nothing is stored."""
        self.faults.add(Fault(FaultKind.ERROR, method, n, status=200, error=error))

    def accept_then_fail_next(self, method: str | None, n: int = 1, *, status: int = 500) -> None:
        """The next `n` matching calls take effect, then answer HTTP `status` (the answer was lost)."""
        self.faults.add(Fault(FaultKind.ACCEPT_THEN_FAIL, method, n, status=status))

    def accept_then_hang_next(self, method: str | None, n: int = 1) -> None:
        """The next `n` matching calls take effect, then hang until release_hangs() (a read timeout)."""
        self.faults.add(Fault(FaultKind.ACCEPT_THEN_HANG, method, n))

    def start_outage(
        self, methods: frozenset[str] = WRITE_METHODS, *, status: int = 503, until: datetime | None = None
    ) -> None:
        """From now on every call to `methods` answers HTTP `status` (nothing stored) until `until`
        on the stand-in's clock (long windows on simulated time), or for good without one."""
        self._outage = Outage(methods, status, until)

    def _in_outage(self, method: str) -> int | None:
        outage = self._outage
        if outage is None or method not in outage.methods:
            return None
        now = self._clock() if self._clock else datetime.now(UTC)
        if outage.until is not None and now >= outage.until:
            self._outage = None
            return None
        return outage.status

    def hold_next(self, method: str | None, n: int = 1) -> None:
        """The next `n` matching calls wait until release_hangs(), then take effect (late)."""
        self.faults.add(Fault(FaultKind.HOLD, method, n))

    def release_hangs(self) -> int:
        """Let every hung request answer (normally); returns how many there were."""
        return self._hangs.release()

    # -- HTTP --------------------------------------------------------------------------------------

    def _notify(self) -> None:
        for loop, future, predicate in list(self._waiters):
            if not future.done() and not loop.is_closed() and predicate():
                loop.call_soon_threadsafe(_resolve, future)

    def _learn_base(self, request: Request) -> None:
        if self.base_url is None:
            self.base_url = str(request.base_url).rstrip("/")

    def _answer(
        self, call: RecordedCall, body: dict[str, Any], status: int = 200, retry_after: int | str | None = None
    ) -> JSONResponse:
        call.status, call.response, call.retry_after = status, body, retry_after
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if body.get("error") not in ("invalid_auth", "not_authed"):
            # Slack names the token's granted scopes on every answer; `python -m bot check` reads them.
            headers["x-oauth-scopes"] = ",".join(self.granted_scopes)
        if status == 429:
            self.rate_limited.append(call)
        self._notify()
        return JSONResponse(body, status_code=status, headers=headers)

    def _fault_answer(self, call: RecordedCall, fault: Fault) -> JSONResponse:
        if fault.kind is FaultKind.RATE_LIMIT:
            return self._answer(call, err("ratelimited"), 429, retry_after=fault.retry_after)
        if fault.kind is FaultKind.ERROR:
            return self._answer(call, err(fault.error))
        return self._answer(call, err("internal_error"), fault.status)

    def _authorized(self, request: Request, args: dict[str, Any], method: str = "") -> bool:
        # Only the app-level token opens Socket Mode connections; every other method takes the bot token.
        token = self.app_token if method == "apps.connections.open" else self.bot_token
        header = request.headers.get("authorization", "")
        return header == f"Bearer {token}" or args.get("token") == token

    def _throttled(self, method: str, args: dict[str, Any]) -> bool:
        if method != "chat.postMessage" or not self.channel_rate_limit:
            return False
        channel = self.lookup(args.get("channel"))
        if channel is None or channel.last_post_at is None:
            return False
        return time.monotonic() - channel.last_post_at < 1.0 / self.channel_rate_limit

    async def _api(self, request: Request) -> Response:
        self._learn_base(request)
        method = request.path_params["method"]
        args = await read_args(request, await request.body())
        call = RecordedCall(method, dict(request.headers), args, time.monotonic())
        self.calls.append(call)
        self._notify()
        if self.latency > 0:
            await self.sleep(self.latency)
        down = self._in_outage(method)
        if down is not None:
            return self._answer(call, err("service_unavailable"), down)
        fault = self.faults.take(method)
        if fault is not None and not fault.accepts:
            return self._fault_answer(call, fault)
        if fault is not None and fault.kind is FaultKind.HOLD:
            await self._hold()
        handler = METHODS.get(method) or SURFACE_METHODS.get(method)
        if handler is None:
            return self._answer(call, err("unknown_method"))
        if not self._authorized(request, args, method):
            return self._answer(call, err("invalid_auth"))
        if (refused := scope_problem(method, self.granted_scopes)) is not None:
            return self._answer(call, refused)
        if self._throttled(method, args):
            return self._answer(call, err("ratelimited"), 429, retry_after=1)
        body = handler(self, args)
        if method == "chat.postMessage" and body.get("ok"):
            self.channels[body["channel"]].last_post_at = time.monotonic()
        if fault is not None and fault.kind is FaultKind.ACCEPT_THEN_FAIL:
            return self._answer(call, err("internal_error"), fault.status)
        if fault is not None and fault.kind is FaultKind.ACCEPT_THEN_HANG:
            await self._hold()
        return self._answer(call, body)

    async def _hold(self) -> None:
        await self._hangs.wait(self._notify)

    async def _pseudo_fault(self, name: str) -> tuple[Fault | None, Response | None]:
        """Latency and the faults of the response-URL and upload endpoints (plain-text answers)."""
        if self.latency > 0:
            await self.sleep(self.latency)
        fault = self.faults.take(name)
        if fault is None or fault.accepts:
            return fault, None
        if fault.kind is FaultKind.RATE_LIMIT:
            return fault, PlainTextResponse("ratelimited", 429, headers={"Retry-After": str(fault.retry_after)})
        if fault.kind is FaultKind.ERROR:
            return fault, PlainTextResponse(fault.error, 404)
        return fault, PlainTextResponse("internal_error", fault.status)

    async def _after_accept(self, fault: Fault | None, answer: Response) -> Response:
        if fault is not None and fault.kind is FaultKind.ACCEPT_THEN_FAIL:
            return PlainTextResponse("internal_error", fault.status)
        if fault is not None and fault.kind is FaultKind.ACCEPT_THEN_HANG:
            await self._hold()
        return answer

    async def _response(self, request: Request) -> Response:
        self._learn_base(request)
        key = request.path_params["key"]
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        peer = f"{request.client.host}:{request.client.port}" if request.client else ""
        post = ResponsePost(key, body if isinstance(body, dict) else {"_raw": body}, time.monotonic(), peer=peer)
        self.response_posts.append(post)
        entry = self.response_urls.setdefault(key, ResponseUrl(key))
        fault, refused = await self._pseudo_fault(RESPONSE_URL)
        if refused is None and entry.uses >= RESPONSE_URL_USES:
            refused = JSONResponse(err("used_url"), 404)
        if refused is None and "_raw" in post.body:
            refused = PlainTextResponse("invalid_payload", 400)
        if refused is not None:
            post.status = refused.status_code
            self._notify()
            return refused
        entry.uses += 1
        self.apply_response(entry, post.body)
        self._notify()
        answer = await self._after_accept(fault, PlainTextResponse("ok"))
        post.status = answer.status_code
        return answer

    async def _upload(self, request: Request) -> Response:
        stored = self.files.get(request.path_params["file_id"])
        raw = await request.body()
        fault, refused = await self._pseudo_fault(FILE_UPLOAD)
        if refused is not None:
            return refused
        if stored is None:
            return PlainTextResponse("file_not_found", 404)
        content_type = request.headers.get("content-type", "")
        if content_type.lower().startswith("multipart/form-data"):
            fields, files = parse_multipart(content_type, raw)
            raw = next(iter(files.values()))[1] if files else fields.get("file", "").encode()
        stored.content = raw
        self._notify()
        return await self._after_accept(fault, PlainTextResponse(f"OK - {len(raw)}"))

    async def _file(self, request: Request) -> Response:
        stored = self.files.get(request.path_params["file_id"])
        if stored is None or stored.content is None:
            return PlainTextResponse("file_not_found", 404)
        return Response(stored.content, media_type=stored.mimetype)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
