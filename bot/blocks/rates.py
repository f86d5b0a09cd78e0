"""Rate alerts (a top-level post per watching channel, edited as the episode evolves and when it
clears, with a reply in its thread) and the `/session rates` card. Episodes come from
bot/rates/detectors.py as JSON.

A rate alert shows its state as every alert kind does (bot/blocks/alert_state.py): triggered →
acknowledged by @x at 14:07 → resolved after 23 min. Action ids (bot/contracts/actions.py):
Action.RATE_ACK / RATE_UNACK and Action.RATE_DETAILS (value: the agent), Action.INCIDENT_MUTE (the
same Mute menu as an incident's: mute_value) and Action.INCIDENT_UNMUTE (value: the agent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    InteractiveElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.alert_state import EMOJI, AlertState, Phase, StateActions, state_buttons, state_line, user_mention
from bot.blocks.alerts import alert_metadata, mute_options
from bot.blocks.format import CONTEXT_LIMIT, SECTION_LIMIT, esc, human_duration, short_id, slack_date, truncate
from bot.blocks.message import Message, build, fallback
from bot.contracts.actions import Action
from bot.rates.detectors import BOT_START, COLD, FAILURE, PAGE, SILENCE, WARN, per_minute, percent
from bot.rates.slo import SLO_PREFIX

RATE_ACTIONS_BLOCK_ID = "rate_actions"
#: A triggered alert's emoji per severity (acknowledged and resolved ones take the state's).
ICONS = {PAGE: EMOJI[Phase.TRIGGERED], WARN: ":chart_with_upwards_trend:"}
#: Deployments and causes shown on an alert at most.
MAX_DEPLOYMENTS = 4
MAX_CAUSES = 3

#: A rate alert's state buttons (bot/slack/incident_actions.py handles them). No Resolve: by
#: decision a rate alert resolves on evidence only (its detector is clearly back for
#: RateRules.clear_hold), as health alerts do; closing it by hand would only hide a live regression.
RATE_STATE_ACTIONS = StateActions(
    acknowledge=Action.RATE_ACK,
    unacknowledge=Action.RATE_UNACK,
    resolve=None,
    mute=Action.INCIDENT_MUTE,
    unmute=Action.INCIDENT_UNMUTE,
)


def _deployments(rows: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for row in rows[:MAX_DEPLOYMENTS]:
        ended, failed = int(row.get("ended") or 0), int(row.get("failed") or 0)
        name = short_id(str(row.get("deployment") or "")) or "unknown"
        rate = percent(failed / ended) if ended else "–"
        parts.append(f"`{esc(name, 40)}` {rate} of {ended}")
    return "Deployments (last hour): " + " · ".join(parts) if parts else ""


def _causes(rows: Sequence[Mapping[str, Any]]) -> str:
    parts = [f"{esc(str(r.get('label') or ''), 200)} ×{int(r.get('count') or 0)}" for r in rows[:MAX_CAUSES]]
    return "Top causes: " + " · ".join(parts) if parts else ""


def reading_text(key: str, value: float) -> str | None:
    """One reading of a detector in a few words (its worst, beside the current headline): "45%",
    "0 calls a minute", "p95 13s", "14.4x"; None for a detector this does not know."""
    if key in (FAILURE, COLD):
        return percent(value)
    if key == SILENCE:
        return f"{per_minute(value)} calls a minute"
    if key == BOT_START:
        return "p95 over 60s" if value >= 3600 else f"p95 {value:g}s"
    if key.startswith(SLO_PREFIX):
        return f"{value:.1f}x"
    return None


def _worst(episode: Mapping[str, Any], headline: str) -> str | None:
    """The episode's worst reading when the current one is not it."""
    peak = str(episode.get("peak_headline") or headline)
    if peak == headline:
        return None
    value = episode.get("peak")
    short = reading_text(str(episode.get("key") or ""), float(value)) if isinstance(value, int | float) else None
    return esc(short or peak, 300)


def _cost(count: int) -> str:
    return f"about {count} session{'s' if count != 1 else ''} affected"


def rate_alert(
    agent: str,
    episode: Mapping[str, Any],
    opened_at: datetime,
    dedup_key: str,
    *,
    deployments: Sequence[Mapping[str, Any]] = (),
    causes: Sequence[Mapping[str, Any]] = (),
    cleared_at: datetime | None = None,
    cost: int = 0,
    acknowledged_by: str | None = None,
    acknowledged_at: datetime | None = None,
    muted_until: datetime | None = None,
) -> Message:
    """The alert as it is now. Its first line says how bad: open, the current reading, its worst
    when that was worse, since when and the sessions it cost so far (the episode's `cost`); once
    cleared, the worst reading struck through and what it cost in all (`cost`). The second line is
    its state. `muted_until`: the channel mutes the agent (Unmute instead of the Mute menu)."""
    headline = str(episode.get("headline") or "rates changed")
    peak = str(episode.get("peak_headline") or headline)
    state = AlertState(
        started_at=opened_at,
        acknowledged_by=acknowledged_by,
        acknowledged_at=acknowledged_at,
        resolved_at=cleared_at,
        stopped_at=cleared_at,
        muted_until=muted_until if cleared_at is None else None,
    )
    line, plain_state = state_line(state)
    name = f"*{esc(agent, 100)}*"
    if cleared_at is None:
        icon = EMOJI[Phase.ACKNOWLEDGED] if state.phase is Phase.ACKNOWLEDGED else None
        icon = icon or ICONS.get(str(episode.get("severity")), ":chart_with_upwards_trend:")
        how_bad = [esc(headline, 500)]
        if worst := _worst(episode, headline):
            how_bad.append(f"worst {worst}")
        how_bad.append(f"since {slack_date(opened_at, '{time}')}")
        so_far = int(episode.get("cost") or 0)
        if so_far > 0:
            how_bad.append(f"{_cost(so_far)} so far")
        top = f"{icon} {name}: {' · '.join(how_bad)}\n{line}"
        context = [f"Since {slack_date(opened_at)}"]
        if state.muted_until is not None:
            context.append(f":mute: muted until {slack_date(state.muted_until)}")
        text = f"{agent}: {headline} · {plain_state}"
    else:
        lost = f" · {_cost(cost)}" if cost > 0 else ""
        top = f"{EMOJI[Phase.RESOLVED]} {name}: ~{esc(peak, 500)}~{lost}\n{line}"
        context = [
            f"Resolved {slack_date(cleared_at)} after {human_duration(cleared_at - opened_at)} "
            f"(since {slack_date(opened_at)})"
        ]
        if acknowledged_by:  # who was on it stays on the record
            when = f" at {slack_date(acknowledged_at, '{time}')}" if acknowledged_at else ""
            context.append(f":eyes: acknowledged by {user_mention(acknowledged_by)}{when}")
        text = f"{agent}: {peak} · {plain_state}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate(top, SECTION_LIMIT)))]
    detail = [part for part in (_deployments(deployments), _causes(causes)) if part]
    if detail:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(detail), SECTION_LIMIT))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(" · ".join(context), CONTEXT_LIMIT))]))
    elements: list[InteractiveElement] = [*state_buttons(state, RATE_STATE_ACTIONS, agent, mute_options(agent))]
    elements.append(ButtonElement(text="Details", action_id=Action.RATE_DETAILS, value=agent))
    blocks.append(ActionsBlock(block_id=RATE_ACTIONS_BLOCK_ID, elements=elements))
    return build(fallback(text), blocks, metadata=alert_metadata(dedup_key, agent))


def rate_cleared_reply(
    agent: str, episode: Mapping[str, Any], opened_at: datetime, cleared_at: datetime, cost: int, dedup_key: str
) -> Message:
    """The reply in the alert's thread when its detector cleared."""
    usual = str(episode.get("headline") or "")
    lasted = human_duration(cleared_at - opened_at)
    cost_text = f", about {cost} session(s) affected" if cost else ""
    text = (
        f":white_check_mark: Back to usual {slack_date(cleared_at)} after {lasted}{cost_text}. Last: {esc(usual, 300)}"
    )
    return build(
        fallback(f"Resolved: {agent}"),
        [SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent),
    )


# -- /session rates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RateRow:
    """One window of the card: sessions started per minute, failure rate, cold-start share, p95."""

    label: str
    started_per_minute: float | None
    failure_rate: float | None
    ended: int
    cold_share: float | None
    bot_start_p95: float | None


@dataclass(frozen=True)
class SloLine:
    """An agent's SLO and the share of its error budget left (bot/alerts/rates/view.py `slo_line`)."""

    target: str
    period: str
    budget_left: float | None
    sessions: int
    #: Days counted so far when fewer than the period (0: the whole period).
    observed_days: float

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "period": self.period,
            "budget_left": self.budget_left,
            "sessions": self.sessions,
            "observed_days": self.observed_days,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SloLine:
        left = data.get("budget_left")
        return cls(
            target=str(data.get("target") or ""),
            period=str(data.get("period") or ""),
            budget_left=float(left) if isinstance(left, int | float) else None,
            sessions=int(data.get("sessions") or 0),
            observed_days=float(data.get("observed_days") or 0.0),
        )


def slo_budget_text(slo: SloLine) -> str:
    """The SLO budget in the words every surface uses (the agent card, `/session rates`, the App
    Home, the digest): plain text, escaped where it is shown."""
    if slo.budget_left is None:
        left = "no ended sessions counted yet"
    else:
        left = f"{slo.budget_left * 100:.0f}% of its error budget left"
    observed = f" (over the {slo.observed_days:.1f} days counted so far)" if slo.observed_days else ""
    return f"SLO {slo.target} over {slo.period}: {left}{observed}"


@dataclass(frozen=True)
class RatesView:
    agent: str
    rows: Sequence[RateRow]
    #: (deployment id, ended, failed) over the last hour, busiest first.
    deployments: Sequence[tuple[str, int, int]]
    slo: SloLine | None
    #: Headlines of the agent's open rate alerts.
    open_alerts: Sequence[str] = ()


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _p95(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:g}s" if value < 3600 and value != float("inf") else ">60s"


def rates_card(view: RatesView) -> Message:
    lines = ["`window   started/min  failed          cold    bot start p95`"]
    for row in view.rows:
        failed = f"{percent(row.failure_rate)} of {row.ended}" if row.failure_rate is not None else "–"
        cold = percent(row.cold_share) if row.cold_share is not None else "–"
        started = _num(row.started_per_minute, ".1f")
        lines.append(f"`{row.label:<8} {started:>11}  {failed:<14}  {cold:>6}  {_p95(row.bot_start_p95):>13}`")
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*Rates of {esc(view.agent, 100)}*")),
        SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT))),
    ]
    if view.deployments:
        parts = [
            f"`{esc(short_id(d) or 'unknown', 40)}` {percent(f / e) if e else '–'} of {e}"
            for d, e, f in view.deployments[:8]
        ]
        blocks.append(
            SectionBlock(text=MarkdownTextObject(text="*Failure rate per deployment, last hour*\n" + " · ".join(parts)))
        )
    if view.slo is not None:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=esc(slo_budget_text(view.slo), 300))))
    if view.open_alerts:
        alerts = "\n".join(f"• {esc(h, 300)}" for h in view.open_alerts)
        text = truncate(f"*Open rate alerts*\n{alerts}", SECTION_LIMIT)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text='"usual" is the 6 h before the last 5 min. Failed: ended with one of the watches\' statuses.'
                )
            ]
        )
    )
    return build(fallback(f"Rates of {view.agent}"), blocks)
