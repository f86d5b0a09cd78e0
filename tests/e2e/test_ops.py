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

from prometheus_client.parser import text_string_to_metric_families

from bot.app import Runtime
from bot.ops.logs import configure_logging
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn
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
    await runtime.jobs.poll_once()
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
    await runtime.jobs.run_cycle()
    sim_clock.advance(5)
    await runtime.jobs.run_cycle()
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
    await runtime.jobs.poll_once()
    polled = (await slack.http.get("/healthz")).json()
    assert polled["ok"] is True and polled["last_poll_age_seconds"] == 0
    # Pipecat goes away: once no poll succeeded for 3 intervals, /healthz says so with a 503.
    pipecat_sim.fail_next(100, status=503)
    for _ in range(4):
        sim_clock.advance(runtime.settings.poll_interval_seconds)
        await runtime.jobs.poll_once()
    stale = await slack.http.get("/healthz")
    assert stale.status_code == 503
    assert stale.json()["ok"] is False and "no successful poll for 3 intervals" in stale.json()["reasons"][0]
    pipecat_sim.clear_faults()
    sim_clock.advance(runtime.settings.poll_interval_seconds)
    await runtime.jobs.poll_once()
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
    assert watching["level"] == "info" and watching["logger"] == "bot.alerts.commands"
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
    await runtime.jobs.run_cycle()  # the incident's parent and its first reply
    sid = pipecat_sim.add_session("voice-bot", "HTTP_ERROR")
    sim_clock.advance(5)
    slack_standin.rate_limit_next("chat.postMessage", 1, retry_after=1)  # the second reply gets a 429
    with json_logs(runtime) as stream:
        await runtime.jobs.run_cycle()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    (polled,) = [line for line in lines if "ended session(s)" in line["msg"]]
    assert polled["agent"] == "voice-bot" and "verb" not in polled  # nothing of the earlier command leaks in
    (limited,) = [line for line in lines if line["msg"].startswith("Slack rate-limited")]
    assert (limited["agent"], limited["session"], limited["channel"]) == ("voice-bot", sid, ONCALL_CHANNEL)
    assert limited["dedup_key"].endswith(sid)


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
