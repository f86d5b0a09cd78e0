"""Every message builder in bot/blocks, rendered with outside text that carries secrets and a
right-to-left override, and with the most buttons it can show:

- no secret reaches the message (Logs, quoted causes, health messages, the agent card, Details,
  the App Home, notices: each escapes through bot/blocks/format.py `escape`, which masks);
- action ids are unique within each block (Slack refuses the whole message otherwise: the digest
  with three "Details" buttons of one id was never posted);
- the Slack stand-in's checks (what Slack itself checks) accept it.

The registry must name every public builder: a new one fails `test_every_builder_is_rendered`."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import bot.blocks
from bot.blocks import (
    agent_card,
    agents,
    alert_notices,
    alert_watches,
    alerts,
    causes,
    changes,
    digest,
    errors,
    health,
    help,
    home,
    lists,
    logs,
    notices,
    paging,
    rates,
    resolve,
    session,
    stats,
    triage,
)
from bot.blocks.format import esc
from bot.blocks.message import Message
from bot.blocks.rates import RateRow, RatesView, SloLine
from bot.blocks.triage import CauseLine, CausesView, ChangeEvent, IncidentLink, ReplyCause
from bot.contracts.views import AgentPoll, HomeWatch
from bot.pipecat.models import Agent, LogPage, Session
from bot.stats import SessionStats
from bot.webhooks.timeline import timeline
from sandbox.slack.checks import blocks_problems
from tests.blocks_checks import assert_unique_action_ids
from tests.fixtures_pipecat import load_pipecat_fixture
from tests.unit.webhooks.fixtures import stored

T0 = datetime(2026, 11, 30, 14, 10, 5, tzinfo=UTC)
T1 = T0 + timedelta(minutes=9)
SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
SIDS = [SID, "81f4da55-106d-401f-b069-a1f1992f871a", "19db578d-808c-420a-a047-87edde4410c1"]
KEY = "ck_live_4f9a8b7c6d5e3f2a1b0c"
PW = "Hunter2Pass"
AWS = "AKIAIOSFODNN7EXAMPLE"
RLO = "\u202e"
#: Outside text as Pipecat or a log may send it: every secret shape of the issue, and a bidi override.
LEAKY = f"{RLO}quota for {KEY}: redis://:{PW}@cache DB_PASSWORD={PW} {{'x-api-key': '{PW}'}} {AWS}"
SECRETS = (KEY, PW, AWS, "4f9a8b7c", RLO)
AGENT = "voice-bot"


def _session(**changes: Any) -> Session:
    raw = {**load_pipecat_fixture("session-detail-error.json"), **changes}
    return Session.model_validate(raw)


LEAKY_SESSION = _session(
    completionStatus=LEAKY[:120],
    endState=f"agent_error {KEY}",
    events=[{"eventCode": f"BOT_ERROR DB_PASSWORD={PW}", "eventTs": "2026-10-30T14:02:18.000Z"}],
)
ACTIVE = Session.model_validate(load_pipecat_fixture("session-detail-active.json"))


def _agent() -> Agent:
    raw = load_pipecat_fixture("agent-status-crashloop.json")
    raw["currentRevision"]["health"]["reason"] = f"CrashLoopBackOff {KEY}"
    raw["deployment"]["manifest"]["spec"]["image"] = f"https://bot:{PW}@registry.example/voice:1"
    raw["region"] = f"us-west {AWS}"
    return Agent.model_validate(raw)


def _digest_payload() -> dict[str, Any]:
    worst = [{"session_id": s, "status": f"HTTP_ERROR {KEY}"} for s in SIDS]
    item = {
        "agent": AGENT,
        "count": 40,
        "failures": 3,
        "by_status": {"HTTP_ERROR": 3, f"x {KEY}": 1},
        "error_rate": 0.075,
        "prev_error_rate": 0.05,
        "causes": [{"text": LEAKY, "count": 3}],
        "worst": worst,
        "slo": SloLine(LEAKY, "28d", 0.4, 1200, 3.5).to_json(),
    }
    return {"day": "2026-11-30", "window_end": T1.isoformat(), "agents": [item, {**item, "agent": "support-bot"}]}


def _home() -> dict[str, Any]:
    watch = HomeWatch("C0ONCALL", AGENT, frozenset({"HTTP_ERROR"}), None, None, f"invalid_auth {KEY}", T0, 2)
    data = home.HomeData(
        watches=[watch] * 60,
        incidents=[home.IncidentLine(AGENT, "C0ONCALL", "1700000000.000100", 7, T0, None, None)],
        alerts=[home.AlertLine(AGENT, "C0ONCALL", SID, f"HTTP_ERROR {KEY}", T0, "1700000000.000200")],
        polls=[AgentPoll(AGENT, None, 3, LEAKY)],
        health=[home.AgentHealth(AGENT, LEAKY, healthy=False)],
        slo={AGENT: SloLine(LEAKY, "28d", 0.4, 1200, 3.5)},
    )
    return home.home_view(data, now=T1)


Rendered = Message | dict[str, Any]
EARLIER = IncidentLink("C0ONCALL", "1796117097.367956", T0 - timedelta(days=3))
FINDING = {"title": f"crash-looping {KEY}", "kind": "revision", "facts": [f"DB_PASSWORD={PW}"], "message": LEAKY}
INCIDENT = alerts.IncidentView(
    AGENT,
    3,
    T0,
    T1,
    [f"HTTP_ERROR {KEY}"],
    SID,
    causes=CausesView(lines=[CauseLine(LEAKY, 3), CauseLine("seen", 1, seen_before=T0, earlier=EARLIER)]),
    health=LEAKY,
    runbook="https://wiki.example/voice-bot",
    dashboard="https://pipecat.example/agents/{agent}/sessions/{session}",
    hint=LEAKY,
    now=T1,
    calls=9,
)
#: The most buttons a health alert shows: Unmute, the runbook and the dashboard.
EXTRAS = health.AlertExtras(runbook="https://wiki.example/rb", dashboard="https://p.example/{agent}", muted_until=T1)


#: Every public builder (module.function) and a rendering of it with leaky inputs.
def _leaky_timeline() -> list[Any]:
    """Webhook changes whose free text and names carry secrets and a bidi override."""
    return timeline(
        [
            stored("build.failed", {"build_id": "b1", "error_message": LEAKY}, at=T0, event_id=1),
            stored(
                "secret.updated",
                {"set_name": f"{RLO}voice-bot-secrets", "scope": "field", "field_names": [KEY]},
                at=T0,
                event_id=2,
            ),
        ]
    )


BUILDERS: dict[str, Callable[[], Rendered]] = {
    "agent_card.agent_card": lambda: agent_card.agent_card(
        AGENT,
        _agent(),
        [agent_card.OpenHealth(LEAKY, "critical", T0)],
        agent_card.ErrorRate(3, 10, 10),
        now=T1,
        health_message=LEAKY,
    ),
    "alert_notices.outage_notice": lambda: alert_notices.outage_notice(AGENT, T0, LEAKY, "k"),
    "alert_notices.poll_failed_notice": lambda: alert_notices.poll_failed_notice(AGENT, T0, 3, LEAKY, "k"),
    "alert_notices.bad_item_notice": lambda: alert_notices.bad_item_notice(AGENT, SID, 3, LEAKY, "k"),
    "alert_notices.recovery_notice": lambda: alert_notices.recovery_notice(AGENT, T0, T1, "k", data=True),
    "alert_notices.undelivered_summary": lambda: alert_notices.undelivered_summary(
        [alert_notices.UndeliveredLine(AGENT, "alert", SID, T0, LEAKY)], T0, T1, "k"
    ),
    "alert_watches.watches_message": lambda: alert_watches.watches_message(
        [
            alert_watches.WatchView(
                AGENT, frozenset({"HTTP_ERROR"}), None, T1, "U1", T0, f"x {KEY}", page=True, page_error=LEAKY
            )
        ]
    ),
    "alerts.notice_message": lambda: alerts.notice_message(LEAKY, esc(LEAKY, 500), "k", AGENT),
    "alerts.incident_parent": lambda: alerts.incident_parent(INCIDENT, "k"),
    "alerts.incident_parent.rate": lambda: alerts.incident_parent(replace(INCIDENT, rate=LEAKY), "k"),
    "alerts.incident_parent.acknowledged_muted": lambda: alerts.incident_parent(
        replace(INCIDENT, acknowledged_by="U0STEVE", acknowledged_at=T0, muted_until=T1), "k"
    ),
    "alerts.incident_parent.resolved": lambda: alerts.incident_parent(
        replace(INCIDENT, closed=True, closed_at=T1, resolved_by="U0STEVE", resolve_reason=LEAKY), "k"
    ),
    "alerts.session_reply": lambda: alerts.session_reply(
        AGENT,
        LEAKY_SESSION,
        "k",
        cause=ReplyCause(quote=[LEAKY], hint=LEAKY),
        dashboard="https://pipecat.example/agents/{agent}/sessions/{session}",
    ),
    "alerts.session_reply.same_cause": lambda: alerts.session_reply(
        AGENT, LEAKY_SESSION, "k", cause=ReplyCause(quote=[LEAKY], same_as_above=True, hint=LEAKY)
    ),
    "resolve.resolve_modal": lambda: resolve.resolve_modal(LEAKY[:60], "C0ONCALL", "1700000000.000100", paged=True),
    "alerts.rollup_reply": lambda: alerts.rollup_reply(AGENT, [alerts.RolledSession(SID, LEAKY, T0)] * 3, "k"),
    "alerts.rollup_reply.background": lambda: alerts.rollup_reply(
        AGENT,
        [alerts.RolledSession(SID, LEAKY, T0)] * 30,
        "k",
        background=alerts.Background(rate=LEAKY, causes=[(LEAKY, 3)] * 3, causes_read=5),
    ),
    "causes.causes_message": lambda: causes.causes_message(
        AGENT, [causes.CauseRow(LEAKY, 3, 9, T0, T1, s, last_incident=EARLIER) for s in SIDS], window_label="24h"
    ),
    "digest.digest_message": lambda: digest.digest_message(_digest_payload(), "k"),
    "errors.error_message": lambda: errors.error_message(f"Refused {KEY}", LEAKY),
    "errors.looking_up": lambda: errors.looking_up(AGENT, SID),
    "changes.changes_message": lambda: changes.changes_message(
        AGENT, _leaky_timeline(), window_label="24h", webhooks_configured=True
    ),
    "triage.with_change_events": lambda: triage.with_change_events(
        health.health_alert(AGENT, FINDING, "critical", T0, "k"),
        [ChangeEvent(e.at, e.text, 3) for e in _leaky_timeline()],
    ),
    "rates.rate_alert.open": lambda: rates.rate_alert(
        AGENT,
        {"headline": f"31% of calls failing (last 5 min), usually 2.0% {LEAKY}", "severity": "critical"},
        T0,
        "k",
        deployments=[{"deployment": LEAKY, "ended": 40, "failed": 12}],
        causes=[{"label": LEAKY, "count": 3}],
        acknowledged_by="U1",
    ),
    "rates.rate_alert.resolved": lambda: rates.rate_alert(AGENT, {"headline": LEAKY}, T0, "k", cleared_at=T1, cost=12),
    "rates.rate_cleared_reply": lambda: rates.rate_cleared_reply(AGENT, {"headline": LEAKY}, T0, T1, 12, "k"),
    "rates.rates_card": lambda: rates.rates_card(
        RatesView(
            LEAKY,
            [RateRow("5 min", 3.2, 0.31, 16, 0.1, 4.2), RateRow("1 h", None, None, 0, None, None)],
            [(LEAKY, 40, 12)],
            SloLine("99.5%", "28d", 0.4, 1200, 3.5),
            open_alerts=[LEAKY],
        )
    ),
    "notices.slo_set": lambda: notices.slo_set(LEAKY, 0.995, "28d"),
    "health.health_alert": lambda: health.health_alert(AGENT, FINDING, "critical", T0, "k", extras=EXTRAS),
    "health.health_resolved": lambda: health.health_resolved(AGENT, FINDING, T0, T1, "k", extras=EXTRAS),
    "health.health_back": lambda: health.health_back(AGENT, FINDING, T0, T1, "k"),
    "health.health_recovery": lambda: health.health_recovery(AGENT, FINDING, T0, T1, LEAKY, "k"),
    "help.help_message": lambda: help.help_message(error=LEAKY),
    "help.usage_error": lambda: help.usage_error(LEAKY),
    "agents.agents_message": lambda: agents.agents_message([_agent()] * 3),
    "home.home_view": _home,
    "home.refused_home_view": lambda: home.refused_home_view("not for you"),
    "lists.session_list": lambda: lists.session_list(
        AGENT,
        [LEAKY_SESSION, ACTIVE] * 3,
        total_count=6,
        errors_only=False,
        causes={LEAKY_SESSION.session_id: LEAKY},
        asked=40,
    ),
    "logs.logs_message": lambda: logs.logs_message(
        AGENT, SID, LogPage.model_validate({"logs": [{"log": LEAKY, "timestamp": "2026-10-30T14:02:18Z"}] * 3})
    ),
    "notices.notice": lambda: notices.notice(esc(LEAKY, 300), LEAKY),
    "notices.watching": lambda: notices.watching(AGENT, ["HTTP_ERROR", f"x {KEY}"], None, page=True),
    "notices.unwatched": lambda: notices.unwatched(AGENT, True),
    "notices.muted": lambda: notices.muted(AGENT, T1),
    "notices.unmuted": lambda: notices.unmuted(AGENT, True),
    "notices.already_acknowledged": lambda: notices.already_acknowledged("U1", T0),
    # The reason is the access policy's own text (bot/access), never outside text.
    "notices.refused": lambda: notices.refused("Only admins can do that here."),
    "notices.digest_on": lambda: notices.digest_on(T0.timetz()),
    "notices.digest_off": lambda: notices.digest_off(True),
    "paging.paging_needs_key": lambda: paging.paging_needs_key(AGENT),
    "session.session_summary.error": lambda: session.session_summary(AGENT, LEAKY_SESSION, now=T1),
    "session.session_summary.active": lambda: session.session_summary(AGENT, ACTIVE, now=T1),
    "session.session_summary.cause": lambda: session.session_summary(
        AGENT, LEAKY_SESSION, now=T1, cause=ReplyCause(quote=(LEAKY, f"KeyError: {KEY}"))
    ),
    "stats.stats_message": lambda: stats.stats_message(
        AGENT,
        SessionStats(
            window=timedelta(hours=1), capped=False, count=3, ended=3, errors=1, by_status={f"HTTP_ERROR {KEY}": 1}
        ),
        window_label="1h",
    ),
}


#: Public functions of bot/blocks that serve the builders: the Message factory, the model-to-dict
#: walk, the metadata an alert carries.
NOT_BUILDERS = {"build", "block_dict", "alert_metadata"}


def _public_builders() -> set[str]:
    """Functions of bot/blocks that return a Message or a view (the `-> dict[str, Any]` of home)."""
    found: set[str] = set()
    for module_info in pkgutil.iter_modules(bot.blocks.__path__):
        module = importlib.import_module(f"bot.blocks.{module_info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_") or name in NOT_BUILDERS:
                continue
            if fn.__annotations__.get("return") in ("Message", "dict[str, Any]"):
                found.add(f"{module_info.name}.{name}")
    return found


def test_every_builder_is_rendered() -> None:
    registered = {".".join(name.split(".")[:2]) for name in BUILDERS}
    assert _public_builders() - registered == set()


def _blocks(rendered: Rendered) -> list[dict[str, Any]]:
    return rendered.blocks if isinstance(rendered, Message) else list(rendered["blocks"])


@pytest.mark.parametrize("name", list(BUILDERS))
def test_action_ids_are_unique_per_block_and_slack_accepts_it(name: str) -> None:
    rendered = BUILDERS[name]()
    assert_unique_action_ids(_blocks(rendered))
    limit = 50 if isinstance(rendered, Message) else 100
    assert blocks_problems(_blocks(rendered), limit=limit) == []


@pytest.mark.parametrize("name", list(BUILDERS))
def test_no_secret_and_no_bidi_override_reaches_slack(name: str) -> None:
    rendered = BUILDERS[name]()
    text = json.dumps(rendered.blocks if isinstance(rendered, Message) else rendered, ensure_ascii=False)
    if isinstance(rendered, Message):
        text += rendered.text
    for secret in SECRETS:
        assert secret not in text, f"{name}: {secret!r} shown"


def test_the_digest_shows_a_details_button_per_worst_session() -> None:
    message = digest.digest_message(_digest_payload(), "k")
    [first, *_] = [b for b in message.blocks if b["type"] == "actions"]
    assert [e["text"]["text"] for e in first["elements"]] == [f"Details {s[:8]}…" for s in SIDS]
    assert [e["action_id"] for e in first["elements"]] == [
        "incident_details",
        "incident_details#1",
        "incident_details#2",
    ]


_DATE_TOKEN = re.compile(r"<!date\^[0-9]+\^[^|>]*\|[^>]*>")
_TIME_SHAPED = re.compile(
    r"\b[0-9]{1,2}:[0-9]{2}\b|\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b"
    r"|\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{1,2}\b"
)


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") in ("mrkdwn", "plain_text") else []
        return own + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_time_is_a_date_token_or_says_utc(name: str) -> None:
    """A time in the reader's zone (a Slack date token) never sits beside an unlabelled UTC one: a
    time that is not a token says UTC in its own text, or (log text in a code block, where no token
    renders) in the message."""
    rendered = BUILDERS[name]()
    blocks = rendered.blocks if isinstance(rendered, Message) else rendered["blocks"]
    texts = _texts(blocks)
    for text in texts:
        bare = _DATE_TOKEN.sub("", text)
        if not _TIME_SHAPED.search(bare):
            continue
        where = texts if "```" in bare else [bare]
        assert any("UTC" in t for t in where), f"{name}: unlabelled time in {bare!r}"
