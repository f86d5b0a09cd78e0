"""The outbox rows of agent health conditions: one opening post per watching channel; when the
condition clears, a recovery reply in that post's thread (and the post is re-rendered resolved);
when it comes back soon after, a reply saying so (and the post is re-rendered open again).

Dedup keys name the watch, the condition and the moment it opened, so a condition occurrence is
posted once per channel however many replicas read the status. An occurrence that reopens keeps
its opener; its later replies carry how often it came back. A condition back after
HEALTH_REOPEN_WITHIN (bot/alerts/policy.py) is a new occurrence, and a new post.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.alerts.fanout import Mutes, fan_out
from bot.alerts.health.assess import Finding, sessions_against, short_id
from bot.contracts.keys import health_back_key, health_clear_key, health_key
from bot.pipecat.models import Agent
from bot.store.payloads import HealthClearPayload, HealthPayload
from bot.store.records import NewPost, OpenCondition, OutboxKind, Watch


def opener_keys(condition_key: str, opened_at: datetime, watches: Sequence[Watch]) -> tuple[str, ...]:
    """The occurrence's opening posts, one per watch that can be posted to (muted ones too: an
    edit notifies nobody, and the post must not go on saying the condition holds)."""
    return tuple(health_key(w.id, condition_key, opened_at) for w in watches if not w.broken_reason)


def opened_posts(
    agent: str, finding: Finding, opened_at: datetime, watches: Sequence[Watch], mutes: Mutes
) -> list[NewPost]:
    if finding.quiet:
        return []
    payload = HealthPayload(finding=finding.to_json(), severity=finding.severity, opened_at=opened_at)
    return fan_out(
        agent, OutboxKind.HEALTH, watches, mutes, lambda w: (health_key(w.id, finding.key, opened_at), payload)
    )


def cleared_posts(
    agent: str,
    condition: OpenCondition,
    cleared_at: datetime,
    now_facts: str,
    watches: Sequence[Watch],
    mutes: Mutes,
    *,
    returns: int = 0,
) -> list[NewPost]:
    if not condition.posted:
        return []

    def post(w: Watch) -> tuple[str, HealthClearPayload]:
        payload = HealthClearPayload(
            finding=condition.finding,
            opened_at=condition.opened_at,
            cleared_at=cleared_at,
            opener_key=health_key(w.id, condition.key, condition.opened_at),
            now=now_facts,
        )
        return health_clear_key(w.id, condition.key, condition.opened_at, returns), payload

    return fan_out(agent, OutboxKind.HEALTH_CLEAR, watches, mutes, post)


def cleared_changes(cleared_at: datetime) -> dict[str, Any]:
    """What a cleared occurrence's openers now say (their evidence stays as it was)."""
    return {"cleared_at": cleared_at.isoformat()}


def reopened_changes(finding: Finding, returned_at: datetime, returns: int) -> dict[str, Any]:
    """What a reopened occurrence's openers now say: open again (triggered: whoever acknowledged
    it before it cleared is on it no more), with the current facts."""
    return {
        "cleared_at": None,
        "ack_by": None,
        "ack_at": None,
        "returned_at": returned_at.isoformat(),
        "returns": returns,
        "finding": finding.to_json(),
        "severity": finding.severity,
    }


def returned_posts(
    agent: str,
    finding: Finding,
    opened_at: datetime,
    returned_at: datetime,
    returns: int,
    watches: Sequence[Watch],
    mutes: Mutes,
) -> dict[str, NewPost]:
    """The "it is back" reply of each channel, by its opener's dedup key."""
    if finding.quiet:
        return {}

    def post(w: Watch) -> tuple[str, HealthClearPayload]:
        payload = HealthClearPayload(
            finding=finding.to_json(),
            opened_at=opened_at,
            cleared_at=returned_at,
            opener_key=health_key(w.id, finding.key, opened_at),
            back=True,
        )
        return health_back_key(w.id, finding.key, opened_at, returns), payload

    rows = fan_out(agent, OutboxKind.HEALTH_CLEAR, watches, mutes, post)
    return {row.payload.opener_key: row for row in rows if isinstance(row.payload, HealthClearPayload)}


def status_facts(agent: Agent) -> str:
    """What the agent looks like now, for a recovery note: "revision 19db578d Active · 0 restart(s)"."""
    facts = []
    revision = agent.current_revision
    if revision is not None:
        facts.append(f"revision {short_id(revision.deployment_id)} {revision.phase or 'unknown'}")
        if revision.health is not None and revision.health.restart_count is not None:
            facts.append(f"{revision.health.restart_count} restart(s)")
    if agent.available is not None:
        facts.append("available" if agent.available else "not available")
    if agent.active_session_count is not None and agent.max_replicas:
        facts.append(sessions_against(agent.active_session_count, agent.max_replicas))
    return " · ".join(facts)
