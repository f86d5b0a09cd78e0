"""Where the metrics come from, without a metrics call in every module.

- Pipecat: `MeteredTransport` wraps the shared httpx client's transport (errors included).
- Slack Web API: `MeteredWebClient` counts every `api_call` by method and result.
- Slack requests: a Bolt middleware binds the log context and notes the request's kind; `timed_ack`
  around the HTTP dispatch (and `MeteredSocketModeHandler` around Socket Mode's) times the ack; the
  Gate's audit record (every command, shortcut and button ends in one) counts outcomes.
- Polls and alerts: the store calls that record them are wrapped once, in `meter_store` (which also
  binds the per-post log context); `bind_poll_context` binds each agent's poll's.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any, TypeVar

import httpx
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.alerts.poller import Poller
from bot.alerts.rate_watch import slo_of
from bot.contracts.actions import SHORTCUT_LOOKUP, Verb
from bot.ops.logs import bind_rest_of_task
from bot.ops.metrics import Metrics
from bot.rates.policy import COUNT_RETENTION
from bot.rates.slo import budget_left
from bot.slack import parsing
from bot.store import Store
from bot.store.records import DEAD, KIND_ALERT, SENT, OutboxRow

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


def _kind(body: dict[str, Any]) -> str:
    if "command" in body:
        return "command"
    kind = str(body.get("type") or "")
    return {
        "block_actions": "action",
        "message_action": "shortcut",
        "shortcut": "shortcut",
        "event_callback": "event",
    }.get(kind, "other")


def _context(body: dict[str, Any], kind: str) -> dict[str, str]:
    """team, channel, user and verb/action of one Slack request, for every log line it causes."""
    team = body.get("team_id") or (body.get("team") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    event = body.get("event") or {}
    found: dict[str, Any] = {
        "team": team,
        "channel": channel or event.get("channel"),
        "user": user or event.get("user"),
    }
    if kind == "command":
        found["verb"] = str(parsing.parse_command(str(body.get("text") or "")).verb)
    elif kind == "action":
        found["action"] = ",".join(str(a.get("action_id")) for a in body.get("actions") or [])[:120]
    elif kind == "shortcut":
        found["action"] = body.get("callback_id")
    elif kind == "event":
        found["event"] = event.get("type")
    return {k: str(v) for k, v in found.items() if v}


#: The kind of the Slack request the current task is answering (set by the Bolt middleware).
_request_kind: ContextVar[str] = ContextVar("pipecat_ops_request_kind", default="other")


def bolt_middleware() -> Callable[..., Awaitable[BoltResponse]]:
    """Bind the request's log context and note its kind for the rest of the request's task.

    Bolt runs the listeners after the global middleware returned (its `next()` only flags), in the
    same task: work they spawn copies the context, and the ack timer around the dispatch
    (`timed_ack`) reads the kind."""

    async def observe(
        req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        body = req.body if isinstance(req.body, dict) else {}
        kind = _kind(body)
        _request_kind.set(kind)
        bind_rest_of_task(**_context(body, kind))
        return await next()

    return observe


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


def interaction_kind(action: str) -> str:
    if action in set(Verb):
        return "command"
    return "shortcut" if action == SHORTCUT_LOOKUP else "action"


def meter_gate(gate: Any, metrics: Metrics) -> None:
    """Every command, shortcut and button ends in one audit record: count it by name and outcome."""
    record = gate.record

    @functools.wraps(record)
    async def counted(*, action: str, result: str, **kwargs: Any) -> None:
        metrics.interactions.labels(interaction_kind(action), action, result[:64]).inc()
        await record(action=action, result=result, **kwargs)

    gate.record = counted


def meter_store(store: Store, metrics: Metrics) -> None:
    """Count polls and alert posts where the store records them (every replica counts its own), and
    bind the log context of each: a poll's agent at its lease, a post's agent, session and dedup
    key at its claim. Each agent's poll and each channel's delivery runs in a task of its own, so
    the binding lasts for that poll or that post (the next claim in the channel rebinds)."""
    record_poll, record_failure = store.record_poll, store.record_poll_failure
    record_idle, claim = store.record_idle_polls, store.claim

    @functools.wraps(record_idle)
    async def idle_polls_ok(*args: Any, **kwargs: Any) -> Any:
        recorded = await record_idle(*args, **kwargs)
        metrics.polls.labels("ok").inc(recorded)
        return recorded

    @functools.wraps(claim)
    async def post_claimed(row: OutboxRow, *args: Any, **kwargs: Any) -> Any:
        bind_rest_of_task(
            agent=row.agent, session=row.session_id or "", dedup_key=row.dedup_key, channel=row.channel_id
        )
        return await claim(row, *args, **kwargs)

    @functools.wraps(record_poll)
    async def poll_ok(*args: Any, **kwargs: Any) -> Any:
        enqueued = await record_poll(*args, **kwargs)
        metrics.polls.labels("ok").inc()
        if enqueued:
            metrics.alerts.labels("enqueued").inc(enqueued)
        return enqueued

    @functools.wraps(record_failure)
    async def poll_failed(*args: Any, **kwargs: Any) -> Any:
        metrics.polls.labels("failed").inc()
        return await record_failure(*args, **kwargs)

    for name, wrapper in (
        ("record_idle_polls", idle_polls_ok),
        ("claim", post_claimed),
        ("record_poll", poll_ok),
        ("record_poll_failure", poll_failed),
    ):
        setattr(store, name, wrapper)
    _count_post_outcomes(store, metrics)


def bind_poll_context(poller: Poller) -> None:
    """Each agent's poll runs in a task of its own: bind its agent there, for the poll's log lines."""
    poll_agent = poller.poll_agent

    @functools.wraps(poll_agent)
    async def bound_poll(agent: str, *args: Any, **kwargs: Any) -> Any:
        bind_rest_of_task(agent=agent)
        return await poll_agent(agent, *args, **kwargs)

    setattr(poller, "poll_agent", bound_poll)  # noqa: B010 (a method is replaced on the instance)


def _count_post_outcomes(store: Store, metrics: Metrics) -> None:
    """Alert posts sent and given up, wherever the store records the outcome: `apply(row, token,
    transition, now)` (the outbox as a state machine) or `mark_sent` / `mark_dead`."""

    def count(row: OutboxRow, state: str | None) -> None:
        if row.kind == KIND_ALERT and state in (SENT, DEAD):
            metrics.alerts.labels("sent" if state == SENT else "given_up").inc()

    apply = getattr(store, "apply", None)
    if apply is not None:

        @functools.wraps(apply)
        async def applied(row: OutboxRow, token: Any, transition: Any, *args: Any, **kwargs: Any) -> Any:
            done = await apply(row, token, transition, *args, **kwargs)
            if done:
                count(row, getattr(transition, "state", None))
            return done

        setattr(store, "apply", applied)  # noqa: B010  (an instance attribute shadows the method)
        return
    for name, state in (("mark_sent", SENT), ("mark_dead", DEAD)):
        mark = getattr(store, name)

        async def marked(row: OutboxRow, *args: Any, _mark: Any = mark, _state: str = state, **kwargs: Any) -> Any:
            done = await _mark(row, *args, **kwargs)
            if done:
                count(row, _state)
            return done

        setattr(store, name, marked)


async def refresh_store_gauges(store: Store, metrics: Metrics, now: Any) -> None:
    snapshot = await store.ops_snapshot()
    metrics.outbox_depth.set(snapshot.outbox_depth)
    oldest = snapshot.oldest_pending_at
    metrics.outbox_oldest_age.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
    metrics.open_incidents.set(snapshot.open_incidents)
    metrics.last_poll_age.clear()  # an unwatched agent leaves the series
    for poll in snapshot.polls:
        if poll.last_success_at is not None:
            metrics.last_poll_age.labels(poll.agent).set(max(0.0, (now - poll.last_success_at).total_seconds()))
    metrics.open_health_conditions.set(await store.open_health_condition_count())  # alerted ones only
    await refresh_rate_gauges(store, metrics, now, {poll.agent for poll in snapshot.polls})


#: The window of the per-agent rate gauges.
RATE_GAUGE_WINDOW = timedelta(minutes=5)


async def refresh_rate_gauges(store: Store, metrics: Metrics, now: datetime, watched: set[str]) -> None:
    """Per watched agent (names are bounded; session ids are never labels): the last 5 minutes'
    failure rate and start rate, and the SLO budget left."""
    for gauge in (metrics.agent_failure_rate, metrics.agent_start_rate, metrics.agent_slo_budget):
        gauge.clear()
    for state in await store.rate_states():
        if state.agent not in watched:
            continue
        windows = {"short": (now - RATE_GAUGE_WINDOW, now + timedelta(minutes=1))}
        target = slo_of(state)
        if target is not None:
            start = max(now - min(target.period, COUNT_RETENTION), state.observed_since)
            windows["period"] = (start, now + timedelta(minutes=1))
        totals = await store.rate_totals(state.agent, windows)
        short = totals["short"]
        metrics.agent_start_rate.labels(state.agent).set(short.started / (RATE_GAUGE_WINDOW.total_seconds() / 60))
        if short.failure_rate is not None:
            metrics.agent_failure_rate.labels(state.agent).set(short.failure_rate)
        if target is not None and (left := budget_left(target, totals["period"])) is not None:
            metrics.agent_slo_budget.labels(state.agent).set(left)
