"""`/session agent <agent>`: the agent's status card.

Deployment (desired vs reconciled), the current revision's phase and health with restarts and
last exit code, replicas, active sessions against autoScaling.maxReplicas, the error rate of the
last hour, and the agent's open health conditions (health.message quoted like an alert's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import (
    CONTEXT_LIMIT,
    FIELD_LIMIT,
    HEADER_LIMIT,
    NOT_REPORTED,
    SECTION_LIMIT,
    esc,
    plain,
    slack_date,
)
from bot.blocks.format import truncate as cut
from bot.blocks.message import Message, build, fallback
from bot.blocks.quote import code_block
from bot.pipecat.models import Agent, RevisionInfo

OOM_EXIT_CODE = 137
SEVERITY_ICONS = {"critical": ":red_circle:", "error": ":large_orange_circle:", "warning": ":warning:"}


@dataclass(frozen=True)
class ErrorRate:
    """Failed sessions among the ended ones of the last hour (or its newest `sampled`)."""

    failed: int
    sampled: int
    total: int

    @property
    def share(self) -> float | None:
        return self.failed / self.sampled if self.sampled else None


@dataclass(frozen=True)
class OpenHealth:
    """One open condition as the card shows it."""

    title: str
    severity: str
    since: datetime


def _id(value: str | None) -> str:
    return f"`{esc(value[:8], 20)}`" if value else NOT_REPORTED


def _deployment(agent: Agent) -> str:
    desired, reconciled = agent.desired_deployment_id, agent.reconciled_deployment_id
    if agent.rolling_out:
        line = f"desired {_id(desired)} · reconciled {_id(reconciled)} (rolling out)"
    else:
        line = f"{_id(desired or reconciled)} (desired = reconciled)"
    if agent.deployment is not None and agent.deployment.created_at is not None:
        line += f"\nlive since {slack_date(agent.deployment.created_at)}"
    if agent.deployment is not None and agent.deployment.image:
        line += f"\n`{esc(agent.deployment.image, 200)}`"
    return line


def _revision(revision: RevisionInfo | None) -> str:
    if revision is None:
        return NOT_REPORTED
    line = f"{_id(revision.deployment_id)} *{esc(revision.phase or 'unknown', 40)}*"
    if revision.phase_started_at is not None:
        line += f" since {slack_date(revision.phase_started_at)}"
    health = revision.health
    if health is not None:
        state = [esc(health.state or "unknown", 40), "ready" if health.ready else "not ready"]
        if health.reason:
            state.append(esc(health.reason, 60))
        line += "\n" + " · ".join(state)
        counts = [f"{health.restart_count if health.restart_count is not None else '?'} restart(s)"]
        if health.last_exit_code is not None:
            oom = " (out of memory)" if health.last_exit_code == OOM_EXIT_CODE else ""
            counts.append(f"last exit code {health.last_exit_code}{oom}")
        line += "\n" + " · ".join(counts)
    if revision.has_infrastructure_issue:
        line += "\n:warning: infrastructure issue"
    return line


def _replicas(agent: Agent) -> str:
    revision = agent.current_revision
    ready = revision.ready_replicas if revision and revision.ready_replicas is not None else "?"
    scaling = agent.auto_scaling
    low = scaling.min_replicas if scaling and scaling.min_replicas is not None else "?"
    bounds = f"{low}–{agent.max_replicas or '?'}"
    return f"{ready} ready · autoscaling {bounds}"


def _sessions(agent: Agent) -> str:
    active, limit = agent.active_session_count, agent.max_replicas
    if active is None:
        return NOT_REPORTED
    if not limit:
        return f"{active} active"
    full = " · :no_entry: at capacity" if active >= limit else ""
    return f"{active} of {limit} ({100 * active / limit:.0f}%){full}"


def _errors(rate: ErrorRate | None) -> str:
    if rate is None:
        return "could not be read"
    if rate.share is None:
        return "no sessions ended in the last hour"
    text = f"{rate.share * 100:.1f}% ({rate.failed} of {rate.sampled})"
    return text + (f"\nnewest {rate.sampled} of {rate.total}" if rate.total > rate.sampled else "")


def _flag(value: bool | None, yes: str, no: str, unknown: str) -> str:
    return unknown if value is None else yes if value else no


def agent_card(
    name: str,
    agent: Agent,
    open_health: Sequence[OpenHealth],
    errors: ErrorRate | None,
    *,
    now: datetime,
    health_message: str | None = None,
    rates: str | None = None,
) -> Message:
    """`health_message`: the revision's health.message, already masked and cut (quotable()).
    `rates`: one plain line about the agent's rates and SLO budget (escaped here), if counted."""
    availability = _flag(agent.available, "available", "not available", "availability unknown")
    readiness = _flag(agent.ready, "ready", "not ready", "readiness unknown")
    fields = [
        ("Deployment", _deployment(agent)),
        ("Revision", _revision(agent.current_revision)),
        ("Replicas", _replicas(agent)),
        ("Active sessions", _sessions(agent)),
        ("Error rate (last hour)", _errors(errors)),
        ("Agent", f"{availability} · {readiness}"),
    ]
    blocks: list[Block] = [
        HeaderBlock(text=plain(f"Agent {name}", HEADER_LIMIT)),
        SectionBlock(
            fields=[MarkdownTextObject(text=cut(f"*{label}*\n{value}", FIELD_LIMIT)) for label, value in fields]
        ),
    ]
    if open_health:
        lines = [
            f"{SEVERITY_ICONS.get(h.severity, ':warning:')} {esc(h.title, 300)} (since {slack_date(h.since)})"
            for h in open_health[:10]
        ]
        text = cut("*Open health conditions*\n" + "\n".join(lines), SECTION_LIMIT)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    else:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=":white_check_mark: No open health conditions")))
    if health_message:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=code_block(health_message))))
    if rates:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=cut(f":bar_chart: {esc(rates, 500)}", SECTION_LIMIT))))
    context = [
        esc(agent.region or "region unknown", 60),
        esc(agent.agent_profile or "profile unknown", 60),
        f"as of {slack_date(now)}",
    ]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=cut(" · ".join(context), CONTEXT_LIMIT))]))
    summary = f"{name}: {agent.current_revision.phase if agent.current_revision else 'no revision'}, {_sessions(agent)}"
    return build(fallback(summary), blocks)
