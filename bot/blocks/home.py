"""The App Home tab: watches by channel, open incidents, the last alerts, each agent's polling (and
its SLO budget, when it has an SLO).

A Home view takes at most 100 blocks; watches beyond the budget are paged behind a "More" button
(ACTION_HOME_MORE, value: the offset of the next watch to show).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.alert_watches import mention
from bot.blocks.format import SECTION_LIMIT, esc, short_id, slack_date
from bot.blocks.rates import SloLine, slo_budget_text
from bot.blocks.serialize import block_dict
from bot.contracts.actions import Action
from bot.contracts.slack_errors import broken_text
from bot.contracts.views import AgentPoll, HomeWatch

ACTION_HOME_MORE = Action.HOME_MORE
#: Slack's limit on a Home tab's blocks.
MAX_HOME_BLOCKS = 100
MAX_INCIDENTS = 10
RECENT_ALERTS = 10


@dataclass(frozen=True)
class IncidentLine:
    agent: str
    channel_id: str
    parent_ts: str | None
    session_count: int
    first_failure_at: datetime
    ack_by: str | None
    ack_at: datetime | None


@dataclass(frozen=True)
class AlertLine:
    agent: str
    channel_id: str
    session_id: str | None
    status: str
    created_at: datetime
    posted_ts: str | None


@dataclass(frozen=True)
class AgentHealth:
    """What the agent-status checks say (filled once those run; None: not checked)."""

    agent: str
    summary: str
    healthy: bool


@dataclass(frozen=True)
class HomeData:
    watches: Sequence[HomeWatch]
    incidents: Sequence[IncidentLine]
    alerts: Sequence[AlertLine]
    polls: Sequence[AgentPoll]
    health: Sequence[AgentHealth] = field(default_factory=tuple)
    poll_interval: float = 60.0
    #: The SLO budget of each agent with an SLO set (`/session slo`).
    slo: Mapping[str, SloLine] = field(default_factory=dict)


def message_link(channel_id: str, ts: str | None) -> str:
    """A link to a message Slack resolves for any workspace member (no team domain needed)."""
    if not ts:
        return f"<#{channel_id}>"
    return f"<https://slack.com/archives/{channel_id}/p{ts.replace('.', '')}|open>"


def _md(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def _chunks(lines: Sequence[str]) -> list[SectionBlock]:
    """Lines packed into as few sections as Slack's 3000-character limit allows."""
    blocks: list[SectionBlock] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > SECTION_LIMIT:
            blocks.append(_md(current))
            current = ""
        current = f"{current}\n{line}" if current else line[:SECTION_LIMIT]
    if current:
        blocks.append(_md(current))
    return blocks


def _incident_line(incident: IncidentLine) -> str:
    ack = (
        f":white_check_mark: acknowledged by <@{esc(incident.ack_by, 40)}> {slack_date(incident.ack_at)}"
        if incident.ack_by
        else ":rotating_light: not acknowledged"
    )
    return (
        f"*{esc(incident.agent, 100)}* in <#{incident.channel_id}> · {incident.session_count} failed since "
        f"{slack_date(incident.first_failure_at)} · {ack} · {message_link(incident.channel_id, incident.parent_ts)}"
    )


def _alert_line(row: AlertLine) -> str:
    status = esc(row.status, 60)
    session = short_id(row.session_id) if row.session_id else "?"
    return (
        f"{slack_date(row.created_at)} · *{esc(row.agent, 100)}* `{session}` {status} in <#{row.channel_id}> · "
        f"{message_link(row.channel_id, row.posted_ts)}"
    )


def _agent_line(
    poll: AgentPoll, health: AgentHealth | None, now: datetime, interval: float, slo: SloLine | None = None
) -> str:
    if poll.failures:
        reach = f":red_circle: Pipecat unreachable ({poll.failures} failed polls; {esc(poll.last_error or '', 200)})"
    elif poll.last_success_at is None:
        reach = ":white_circle: not polled yet"
    else:
        age = (now - poll.last_success_at).total_seconds()
        icon = ":large_green_circle:" if age <= 3 * interval else ":large_yellow_circle:"
        reach = f"{icon} last successful poll {slack_date(poll.last_success_at)}"
    line = f"*{esc(poll.agent, 100)}* · {reach}"
    if health is not None:
        line += f" · {'health ok' if health.healthy else ':warning: ' + esc(health.summary, 300)}"
    if slo is not None:
        line += f" · {esc(slo_budget_text(slo), 300)}"
    return line


def _watch_line(watch: HomeWatch) -> str:
    statuses = ", ".join(f"`{esc(s, 60)}`" for s in sorted(watch.statuses))
    parts = [f"*{esc(watch.agent, 100)}* · {statuses}"]
    if watch.group:
        parts.append(f"mentions {mention(watch.group)}")
    if watch.page:
        parts.append(":pager: pages PagerDuty")
    if watch.muted_until is not None:
        parts.append(f":mute: muted until {slack_date(watch.muted_until)}")
    if watch.broken_reason:
        parts.append(f":warning: not delivering: {esc(broken_text(watch.broken_reason), 300)}")
    if watch.undelivered:
        parts.append(f":hourglass: {watch.undelivered} post(s) waiting")
    parts.append(f"last alert {slack_date(watch.last_alert_at) if watch.last_alert_at else 'never'}")
    return " · ".join(parts)


def _watch_sections(watches: Sequence[HomeWatch]) -> list[Block]:
    """One section per channel: its name, then one line per watch."""
    blocks: list[Block] = []
    by_channel: dict[str, list[HomeWatch]] = {}
    for watch in watches:
        by_channel.setdefault(watch.channel_id, []).append(watch)
    for channel, group in by_channel.items():
        blocks.extend(_chunks([f"<#{channel}>", *(_watch_line(w) for w in group)]))
    return blocks


def _overview(data: HomeData, now: datetime) -> list[Block]:
    blocks: list[Block] = [
        HeaderBlock(text="pipecat-ops"),
        ContextBlock(elements=[MarkdownTextObject(text=f"As of {slack_date(now)} · `/session help` for commands")]),
        HeaderBlock(text=f"Open incidents ({len(data.incidents)})"),
    ]
    if data.incidents:
        blocks += _chunks([_incident_line(i) for i in data.incidents[:MAX_INCIDENTS]])
        if len(data.incidents) > MAX_INCIDENTS:
            blocks.append(_context(f"…and {len(data.incidents) - MAX_INCIDENTS} more"))
    else:
        blocks.append(_context("No open incidents."))
    blocks.append(HeaderBlock(text="Last alerts"))
    blocks += _chunks([_alert_line(r) for r in data.alerts[:RECENT_ALERTS]]) or [_context("No alerts yet.")]
    blocks.append(HeaderBlock(text="Agents"))
    health = {h.agent: h for h in data.health}
    lines = [_agent_line(p, health.get(p.agent), now, data.poll_interval, data.slo.get(p.agent)) for p in data.polls]
    blocks += _chunks(lines) or [_context("No watched agents.")]
    return blocks


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def home_view(data: HomeData, *, now: datetime, offset: int = 0) -> dict[str, Any]:
    """The Home tab as a `views.publish` view. `offset`: the first watch shown (from "More")."""
    blocks = _overview(data, now) if offset == 0 else [HeaderBlock(text="pipecat-ops")]
    blocks += [DividerBlock(), HeaderBlock(text=f"Watches ({len(data.watches)})")]
    if not data.watches:
        blocks.append(_context("Nothing is watched yet: `/session watch <agent>` in an on-call channel."))
    budget = MAX_HOME_BLOCKS - len(blocks) - 2  # the footer and a "More" button
    shown = 0
    for end in range(offset + 1, len(data.watches) + 1):
        candidate = _watch_sections(data.watches[offset:end])
        if len(candidate) > budget:
            break
        shown = end - offset
    blocks += _watch_sections(data.watches[offset : offset + shown])
    rest = len(data.watches) - offset - shown
    if rest > 0:
        blocks.append(_context(f"Showing watches {offset + 1}–{offset + shown} of {len(data.watches)}."))
        more = ButtonElement(text=f"More ({rest})", action_id=ACTION_HOME_MORE, value=str(offset + shown))
        blocks.append(ActionsBlock(elements=[more]))
    view = View(type="home", blocks=blocks)
    rendered = block_dict(view)  # validates every block (limits, required fields)
    if len(rendered["blocks"]) > MAX_HOME_BLOCKS:
        raise ValueError("the Home view grew past Slack's 100 blocks")
    return rendered


def refused_home_view(reason: str) -> dict[str, Any]:
    """What someone the access lists leave out sees on the Home tab: the reason, no data."""
    blocks: list[Block] = [
        HeaderBlock(text="pipecat-ops"),
        SectionBlock(text=MarkdownTextObject(text=f":no_entry: {reason}")),
    ]
    return block_dict(View(type="home", blocks=blocks))
