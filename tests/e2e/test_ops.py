"""Operations over real HTTP: /metrics, /healthz, the App Home and the digest command.

The app runs in HTTP mode under uvicorn against the Pipecat simulator and the Slack stand-in;
Slack's requests (commands, events) are signed as Slack signs them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.app import Runtime
from bot.ops.logs import configure_logging
from bot.sandbox.pipecat_sim import PipecatSimulator, SimClock
from bot.sandbox.signing import sign_request
from bot.sandbox.slack_standin import SlackStandIn
from tests.fixtures_app import SIGNING_SECRET, USER, AppFactory, SlackDriver
from tests.fixtures_slack import ONCALL_CHANNEL

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(slack: SlackDriver) -> Samples:
    answer = await slack.http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):  # raises on anything that does not parse
        assert family.name.startswith("pipecat_ops_"), family.name
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, metric: str, /, **labels: str) -> float:
    return samples.get((metric, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


async def test_metrics_parse_and_a_command_a_lookup_and_a_poll_move_their_series(
    running: tuple[Runtime, SlackDriver], pipecat_sim: PipecatSimulator, sim_clock: SimClock
) -> None:
    runtime, slack = running
    before = await scrape(slack)

    key = await slack.command("watches")
    await slack.responses(key)
    sid = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    key = await slack.command(f"voice-bot {sid}")
    await slack.responses(key)
    key = await slack.command("watch voice-bot")
    await slack.responses(key)
    await runtime.deps.after_ack.drain(grace_seconds=5)  # each command's audit record (its count) is written
    sim_clock.advance(5)
    await runtime.deps.alerts.poll_once()
    after = await scrape(slack)

    command = {"kind": "command", "name": "watches", "outcome": "ok"}
    assert (
        value(after, "pipecat_ops_interactions_total", **command)
        == value(before, "pipecat_ops_interactions_total", **command) + 1
    )
    lookup = {"kind": "command", "name": "lookup", "outcome": "ok"}
    assert value(after, "pipecat_ops_interactions_total", **lookup) == 1
    detail = {"endpoint": "/agents/{agent}/sessions/{id}", "status": "200"}
    assert value(after, "pipecat_ops_pipecat_requests_total", **detail) >= 1
    assert value(after, "pipecat_ops_pipecat_request_seconds_count", endpoint="/agents/{agent}/sessions/{id}") >= 1
    assert (
        value(after, "pipecat_ops_polls_total", outcome="ok")
        == value(before, "pipecat_ops_polls_total", outcome="ok") + 1
    )
    assert ("pipecat_ops_last_successful_poll_age_seconds", (("agent", "voice-bot"),)) in after
    assert (
        value(after, "pipecat_ops_ack_latency_seconds_count", kind="command")
        == value(before, "pipecat_ops_ack_latency_seconds_count", kind="command") + 3
    )
    # Bounded labels: no session id anywhere in the exposition.
    assert not any(sid in str(labels) for (_, labels) in after)
    assert value(after, "pipecat_ops_store_gauges_fresh") == 1


async def test_metrics_count_slack_calls_by_method_and_result_and_alerts_sent(
    running: tuple[Runtime, SlackDriver],
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    slack_standin: SlackStandIn,
) -> None:
    runtime, slack = running
    key = await slack.command("watch voice-bot")
    await slack.responses(key)
    pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    sim_clock.advance(5)
    slack_standin.rate_limit_next("chat.postMessage", 1, retry_after=1)
    await runtime.deps.alerts.run_cycle()
    sim_clock.advance(5)
    await runtime.deps.alerts.run_cycle()
    samples = await scrape(slack)
    assert value(samples, "pipecat_ops_slack_api_calls_total", method="chat.postMessage", result="ratelimited") == 1
    assert value(samples, "pipecat_ops_slack_api_calls_total", method="chat.postMessage", result="ok") >= 1
    assert value(samples, "pipecat_ops_alerts_total", event="enqueued") == 1
    assert value(samples, "pipecat_ops_alerts_total", event="sent") == 1
    assert value(samples, "pipecat_ops_open_incidents") == 1
    assert value(samples, "pipecat_ops_outbox_depth") == 0


async def test_healthz_reports_the_database_and_polling(
    running: tuple[Runtime, SlackDriver], pipecat_sim: PipecatSimulator, sim_clock: SimClock
) -> None:
    runtime, slack = running
    first = await slack.http.get("/healthz")
    assert first.status_code == 200
    assert first.json() == {"ok": True, "database": "ok", "last_poll_age_seconds": None, "watches": 0, "reasons": []}
    key = await slack.command("watch voice-bot")
    await slack.responses(key)
    await runtime.deps.alerts.poll_once()
    polled = (await slack.http.get("/healthz")).json()
    assert polled["ok"] is True and polled["last_poll_age_seconds"] == 0
    # Pipecat goes away: once no poll succeeded for 3 intervals, /healthz says so with a 503.
    pipecat_sim.fail_next(100, status=503)
    for _ in range(4):
        sim_clock.advance(runtime.settings.poll_interval_seconds)
        await runtime.deps.alerts.poll_once()
    stale = await slack.http.get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["ok"] is False and "no successful poll for 3 intervals" in stale.json()["reasons"][0]
    pipecat_sim.clear_faults()
    sim_clock.advance(runtime.settings.poll_interval_seconds)
    await runtime.deps.alerts.poll_once()
    assert (await slack.http.get("/healthz")).status_code == 200


def take_database_away(db: Path) -> Path:
    """Move the SQLite file (and its WAL) aside and put a directory in its place."""
    moved = db.with_name("moved-away")
    moved.mkdir()
    for suffix in ("", "-wal", "-shm"):
        source = db.with_name(db.name + suffix)
        if source.exists():
            source.rename(moved / source.name)
    db.mkdir()  # SQLite cannot open a directory
    return moved


def bring_database_back(db: Path, moved: Path) -> None:
    db.rmdir()
    for item in moved.iterdir():
        item.rename(db.with_name(item.name))
    moved.rmdir()


async def test_healthz_turns_503_when_the_database_is_unreachable(app_factory: AppFactory) -> None:
    async with app_factory() as (runtime, slack):
        assert (await slack.http.get("/healthz")).status_code == 200
        runtime.store.engine.sync_engine.pool.dispose()
        # The SQLite file goes away and a directory takes its place: every new connection fails.
        path = runtime.store.engine.url.database
        assert path
        db = Path(path)
        moved = take_database_away(db)
        try:
            answer = await slack.http.get("/healthz")
            assert answer.status_code == 503
            body = answer.json()
            assert body["ok"] is False and body["database"] != "ok"
            assert body["reasons"][0].startswith("database unreachable")
            # /metrics still answers, and says its database gauges are stale.
            assert value(await scrape(slack), "pipecat_ops_store_gauges_fresh") == 0
        finally:
            bring_database_back(db, moved)
        assert (await slack.http.get("/healthz")).status_code == 200


def event_body(event: dict[str, Any], event_id: str = "Ev01") -> str:
    return json.dumps(
        {
            "token": "unused",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": 1_700_000_000,
            "event": event,
        }
    )


async def send_event(slack: SlackDriver, body: str, *, retry: int | None = None) -> httpx.Response:
    headers = {**sign_request(SIGNING_SECRET, body), "Content-Type": "application/json"}
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    answer = await slack.http.post("/slack/events", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer


HOME_OPENED = {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"}


async def test_app_home_opened_publishes_the_home_tab_and_a_retry_does_not_act_twice(
    running: tuple[Runtime, SlackDriver], slack_standin: SlackStandIn
) -> None:
    _, slack = running
    key = await slack.command("watch voice-bot")
    await slack.responses(key)
    await send_event(slack, event_body(HOME_OPENED))
    (call,) = await slack_standin.wait_for_calls("views.publish")
    assert call.response and call.response["ok"] is True
    view = slack_standin.home_views[USER]
    shown = json.dumps(view)
    assert view["type"] == "home" and "voice-bot" in shown and f"<#{ONCALL_CHANNEL}>" in shown
    await send_event(slack, event_body(HOME_OPENED), retry=1)  # Slack's retry of the same event
    await send_event(slack, event_body({**HOME_OPENED, "tab": "messages"}, "Ev02"))
    key = await slack.command("watches")  # a later request: the retry's work would have run by now
    await slack.responses(key)
    assert len(slack_standin.calls_to("views.publish")) == 1


async def test_app_home_for_200_watches_pages_behind_more(
    running: tuple[Runtime, SlackDriver], slack_standin: SlackStandIn, sim_clock: SimClock
) -> None:
    runtime, slack = running
    store = runtime.store
    for i in range(200):
        await store.upsert_watch(f"C{i:06d}", "voice-bot", {"HTTP_ERROR"}, None, USER, sim_clock.now())
    await send_event(slack, event_body(HOME_OPENED))
    await slack_standin.wait_for_calls("views.publish")
    view = slack_standin.home_views[USER]
    assert len(view["blocks"]) <= 100
    (more,) = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    await slack.interact(
        {
            "type": "block_actions",
            "user": {"id": USER},
            "actions": [{"action_id": more["action_id"], "value": more["value"]}],
        }
    )
    await slack_standin.wait_for_calls("views.publish", 2)
    second = slack_standin.home_views[USER]
    assert f"C{int(more['value']):06d}" in json.dumps(second)
    assert len(second["blocks"]) <= 100


async def test_digest_on_and_off_by_command(running: tuple[Runtime, SlackDriver]) -> None:
    runtime, slack = running
    key = await slack.command("digest on 17:30")
    (post,) = await slack.responses(key)
    assert "17:30 UTC" in post.body["text"] and post.body["response_type"] == "ephemeral"
    (setting,) = await runtime.store.digests()
    assert (setting.channel_id, setting.hour, setting.minute) == (ONCALL_CHANNEL, 17, 30)
    key = await slack.command("digest off")
    (post,) = await slack.responses(key)
    assert "off" in post.body["text"]
    assert await runtime.store.digests() == []
    await slack.command("digest on 25:00")  # refused in the ack itself, with the accepted form
    assert "is not a time" in json.dumps(slack.ack_json()) and await runtime.store.digests() == []


@contextlib.contextmanager
def json_logs(runtime: Runtime) -> Iterator[io.StringIO]:
    """The app's logs as it writes them with LOG_FORMAT=json, into a buffer for the test."""
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    stream = io.StringIO()
    configure_logging(fmt="json", level="INFO", secrets=runtime.settings.secret_values(), stream=stream)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)
        root.setLevel(level)


async def test_json_logs_of_a_command_carry_its_context(running: tuple[Runtime, SlackDriver]) -> None:
    runtime, slack = running
    with json_logs(runtime) as stream:
        key = await slack.command("watch voice-bot")
        await slack.responses(key)
        await runtime.deps.after_ack.drain(grace_seconds=5)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]  # every line is one JSON object
    (watching,) = [line for line in lines if line["msg"].startswith("watching voice-bot")]
    assert (watching["team"], watching["channel"], watching["user"], watching["verb"]) == (
        "T0001", ONCALL_CHANNEL, USER, "watch"
    )  # fmt: skip
    assert watching["level"] == "info" and watching["logger"] == "bot.alerts.service"
    assert "xoxb-" not in stream.getvalue() and SIGNING_SECRET not in stream.getvalue()


async def test_json_logs_of_a_poll_and_an_alert_carry_agent_session_and_dedup_key(
    running: tuple[Runtime, SlackDriver],
    pipecat_sim: PipecatSimulator,
    sim_clock: SimClock,
    slack_standin: SlackStandIn,
) -> None:
    runtime, slack = running
    key = await slack.command("watch voice-bot")
    await slack.responses(key)
    pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    sim_clock.advance(5)
    await runtime.deps.alerts.run_cycle()  # the incident's parent and its first reply
    sid = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    sim_clock.advance(5)
    slack_standin.rate_limit_next("chat.postMessage", 1, retry_after=1)  # the second reply gets a 429
    with json_logs(runtime) as stream:
        await runtime.deps.alerts.run_cycle()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (polled,) = [line for line in lines if "ended session(s)" in line["msg"]]
    assert polled["agent"] == "voice-bot" and "verb" not in polled  # nothing of the earlier command leaks in
    (limited,) = [line for line in lines if line["msg"].startswith("Slack rate-limited")]
    assert (limited["agent"], limited["session"], limited["channel"]) == ("voice-bot", sid, ONCALL_CHANNEL)
    assert limited["dedup_key"].endswith(sid)


async def test_app_home_for_someone_not_allowed_shows_only_the_reason(
    app_factory: AppFactory, slack_standin: SlackStandIn
) -> None:
    async with app_factory(ALLOWED_USERS="U0SOMEONEELSE", ALLOWED_CHANNELS=ONCALL_CHANNEL) as (runtime, slack):
        await runtime.store.upsert_watch(
            ONCALL_CHANNEL, "voice-bot", {"HTTP_ERROR"}, None, "U0SOMEONEELSE", runtime.deps.clock.now()
        )
        await send_event(slack, event_body(HOME_OPENED))
        await slack_standin.wait_for_calls("views.publish")
        shown = json.dumps(slack_standin.home_views[USER])
        assert "not on this app's list of users" in shown and "voice-bot" not in shown
        await send_event(slack, event_body({**HOME_OPENED, "user": "U0SOMEONEELSE"}, "Ev03"))
        await slack_standin.wait_for_calls("views.publish", 2)
        assert "voice-bot" in json.dumps(slack_standin.home_views["U0SOMEONEELSE"])  # no channel list on Home


async def test_metrics_label_pipecat_failures_by_status_and_slack_failures_by_kind(
    running: tuple[Runtime, SlackDriver], pipecat_sim: PipecatSimulator, slack_standin: SlackStandIn
) -> None:
    runtime, slack = running
    sid = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    pipecat_sim.fail_next(1, status=503, path_contains=sid)  # one 503, then the retry succeeds
    key = await slack.command(f"voice-bot {sid}")
    await slack.responses(key)
    slack_standin.fail_next("chat.postMessage", 1, status=502)
    slack_standin.error_next("chat.postMessage", "channel_not_found")
    for _ in range(2):
        with contextlib.suppress(Exception):
            await runtime.slack.chat_postMessage(channel=ONCALL_CHANNEL, text="x")
    samples = await scrape(slack)
    detail = "/agents/{agent}/sessions/{id}"
    assert value(samples, "pipecat_ops_pipecat_requests_total", endpoint=detail, status="503") == 1
    assert value(samples, "pipecat_ops_pipecat_requests_total", endpoint=detail, status="200") == 1
    calls = "pipecat_ops_slack_api_calls_total"
    assert value(samples, calls, method="chat.postMessage", result="http_5xx") == 1
    assert value(samples, calls, method="chat.postMessage", result="channel_not_found") == 1
