"""Rate alerts (a top-level post per watching channel, edited as the episode evolves and when it
clears, with a reply in its thread) and the `/session rates` card. Episodes come from
bot/rates/detectors.py as JSON.

Action ids (bot/contracts/actions.py): Action.RATE_ACK and Action.RATE_DETAILS (value: the agent),
Action.INCIDENT_MUTE (the incident parent's mute menu: the same handler mutes the agent).
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
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.blocks.alerts import _mute_label, alert_metadata
from bot.blocks.format import CONTEXT_LIMIT, SECTION_LIMIT, esc, human_duration, short_id, slack_date, truncate
from bot.blocks.message import Message, build, fallback
from bot.contracts.actions import Action, mute_value
from bot.contracts.alerts import MUTE_MENU
from bot.rates.detectors import PAGE, percent

RATE_ACTIONS_BLOCK_ID = "rate_actions"
ICONS = {PAGE: ":rotating_light:", "warn": ":chart_with_upwards_trend:"}
#: Deployments and causes shown on an alert at most.
MAX_DEPLOYMENTS = 4
MAX_CAUSES = 3


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


def _buttons(agent: str) -> ActionsBlock:
    mute = StaticSelectElement(
        action_id=Action.INCIDENT_MUTE,
        placeholder="Mute…",
        options=[Option(text=_mute_label(label), value=mute_value(agent, label)) for label in MUTE_MENU],
    )
    return ActionsBlock(
        block_id=RATE_ACTIONS_BLOCK_ID,
        elements=[
            ButtonElement(text="Acknowledge", action_id=Action.RATE_ACK, value=agent, style="primary"),
            mute,
            ButtonElement(text="Details", action_id=Action.RATE_DETAILS, value=agent),
        ],
    )


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
) -> Message:
    """The alert as it is now: open (current and peak), or resolved (how long, what it cost)."""
    headline = str(episode.get("headline") or "rates changed")
    peak = str(episode.get("peak_headline") or headline)
    if cleared_at is None:
        icon = ICONS.get(str(episode.get("severity")), ":chart_with_upwards_trend:")
        top = f"{icon} *{esc(agent, 100)}*: {esc(headline, 500)}"
        context = [f"Since {slack_date(opened_at)}"]
        if peak != headline:
            context.append(f"worst: {esc(peak, 300)}")
        if acknowledged_by:
            context.append(f"acknowledged by <@{esc(acknowledged_by, 30)}>")
        text = f"{agent}: {headline}"
    else:
        top = f":white_check_mark: *{esc(agent, 100)}*: ~{esc(peak, 500)}~"
        context = [f"Resolved {slack_date(cleared_at)} after {human_duration(cleared_at - opened_at)}"]
        context.append(f"about {cost} session(s) affected" if cost else f"since {slack_date(opened_at)}")
        text = f"Resolved: {agent}: {peak}"
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=truncate(top, SECTION_LIMIT)))]
    detail = [line for line in (_deployments(deployments), _causes(causes)) if line]
    if detail:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(detail), SECTION_LIMIT))))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(" · ".join(context), CONTEXT_LIMIT))]))
    if cleared_at is None:
        blocks.append(_buttons(agent))
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
    target: str
    period: str
    budget_left: float | None
    sessions: int
    observed_days: float


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
        slo = view.slo
        left = "–" if slo.budget_left is None else f"{slo.budget_left * 100:.0f}% of its error budget left"
        observed = f" (over the {slo.observed_days:.1f} days counted so far)" if slo.observed_days else ""
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=f"*SLO {esc(slo.target, 20)} over {esc(slo.period, 8)}*: {left}{observed}")
            )
        )
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
