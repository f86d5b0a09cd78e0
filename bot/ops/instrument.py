"""Where the metrics come from, without a metrics call in every module.

- Pipecat: `MeteredTransport` wraps the shared httpx client's transport (errors included).
- Slack Web API: `MeteredWebClient` counts every `api_call` by method and result.
- Slack requests: `timed_ack` around the HTTP dispatch (and `MeteredSocketModeHandler` around
  Socket Mode's) times the ack, by the kind bot/slack/observe.py's middleware noted.
- Polls, alert posts and audited interactions: `MeteredEvents`, the observer the composition root
  passes to the stages (bot/ops/events.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import Any, TypeVar

import httpx
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.ops.logs import bind_rest_of_task
from bot.ops.metrics import Metrics

#: Path parts of the Pipecat API after `agents/<agent>/`; anything else is "other".
_AGENT_SUBPATHS = {"sessions", "logs"}
T = TypeVar("T")


def endpoint_template(path: str) -> str:
    """`/v1/agents/my-bot/sessions/<uuid>` → `/agents/{agent}/sessions/{id}`: never an id as a label."""
    parts = [p for p in path.split("/") if p]
    if "agents" not in parts:
        return "other"
    rest = parts[parts.index("agents") + 1 :]
    if not rest:
        return "/agents"
    template = "/agents/{agent}"
    if len(rest) >= 2:
        if rest[1] not in _AGENT_SUBPATHS:
            return "other"
        template += f"/{rest[1]}"
    if len(rest) >= 3:
        template += "/{id}"
    if len(rest) > 3:
        return "other"
    return template


class MeteredTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        endpoint = endpoint_template(request.url.path)
        started = time.perf_counter()
        status = "error"
        try:
            response = await self._inner.handle_async_request(request)
            status = str(response.status_code)
            return response
        except httpx.TimeoutException:
            status = "timeout"
            raise
        finally:
            self._metrics.pipecat_requests.labels(endpoint, status).inc()
            self._metrics.pipecat_latency.labels(endpoint).observe(time.perf_counter() - started)

    async def aclose(self) -> None:
        await self._inner.aclose()


class MeteredWebClient(AsyncWebClient):
    """AsyncWebClient whose every Web API call is counted: ok, Slack's error code, or the HTTP trouble."""

    metrics: Metrics | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        result = "exception"
        try:
            response = await super().api_call(api_method, **kwargs)
            result = "ok"
            return response
        except SlackApiError as error:
            result = _slack_result(error)
            raise
        except TimeoutError:
            result = "timeout"
            raise
        finally:
            if self.metrics is not None:
                self.metrics.slack_calls.labels(api_method, result).inc()


def _slack_result(error: SlackApiError) -> str:
    status = getattr(error.response, "status_code", 200)
    if status == 429:
        return "ratelimited"
    if status >= 500:
        return "http_5xx"
    code = error.response.get("error") if hasattr(error.response, "get") else None
    return str(code)[:64] if code else f"http_{status}"


#: The kind of the Slack request the current task is answering (set by bot/slack/observe.py's
#: middleware, read by `timed_ack`).
_request_kind: ContextVar[str] = ContextVar("pipecat_ops_request_kind", default="other")


def note_request_kind(kind: str) -> None:
    _request_kind.set(kind)


async def timed_ack(metrics: Metrics, dispatch: Awaitable[T]) -> T:
    """Await one Slack request's dispatch (up to its ack) and observe how long it took, by kind."""
    started = time.perf_counter()
    try:
        return await dispatch
    finally:
        metrics.ack_latency.labels(_request_kind.get()).observe(time.perf_counter() - started)


class MeteredSocketModeHandler(AsyncSocketModeHandler):
    """Socket Mode's counterpart of the HTTP handler's timing: from the envelope to the ack sent."""

    metrics: Metrics | None = None

    async def handle(self, client: Any, req: Any) -> None:
        if self.metrics is None:
            await super().handle(client, req)
            return
        await timed_ack(self.metrics, super().handle(client, req))


class MeteredEvents:
    """The app's observer of the pipeline (bot/ops/events.py): Prometheus counts, and the log
    context of each agent's poll and each claimed post. Each runs in a task of its own, so a
    binding lasts for that poll or that post (the next claim in the channel rebinds)."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def poll_started(self, agent: str) -> None:
        bind_rest_of_task(agent=agent)

    def polls_recorded(self, count: int, enqueued: int) -> None:
        if count:
            self._metrics.polls.labels("ok").inc(count)
        if enqueued:
            self._metrics.alerts.labels("enqueued").inc(enqueued)

    def poll_failed(self, agent: str) -> None:
        self._metrics.polls.labels("failed").inc()

    def post_claimed(self, *, agent: str, session: str, dedup_key: str, channel: str) -> None:
        bind_rest_of_task(agent=agent, session=session, dedup_key=dedup_key, channel=channel)

    def alert_finished(self, *, sent: bool) -> None:
        self._metrics.alerts.labels("sent" if sent else "given_up").inc()

    def interaction(self, *, kind: str, action: str, result: str) -> None:
        self._metrics.interactions.labels(kind, action, result[:64]).inc()
