"""The outbox rows of agent health conditions: one opening post per watching channel, and when
the condition clears a recovery reply in that post's thread (the post itself is then edited).

Dedup keys name the watch, the condition and the moment it opened, so a condition occurrence is
posted once per channel however many replicas read the status; a later occurrence of the same
condition (it cleared, then came back) is a new post.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.alerts.fanout import Mutes, fan_out
from bot.alerts.health import Finding, short_id
from bot.pipecat.models import Agent
from bot.store.payloads import HealthClearPayload, HealthPayload
from bot.store.records import KIND_HEALTH, KIND_HEALTH_CLEAR, NewPost, OpenCondition, Watch


def open_key(watch_id: int, condition_key: str, opened_at: datetime) -> str:
    return f"health:{watch_id}:{condition_key}:{int(opened_at.timestamp())}"


def clear_key(watch_id: int, condition_key: str, opened_at: datetime) -> str:
    return f"health-clear:{watch_id}:{condition_key}:{int(opened_at.timestamp())}"


def opened_posts(
    agent: str, finding: Finding, opened_at: datetime, watches: Sequence[Watch], mutes: Mutes
) -> list[NewPost]:
    if finding.quiet:
        return []
    payload = HealthPayload(finding=finding.to_json(), severity=finding.severity, opened_at=opened_at)
    return fan_out(agent, KIND_HEALTH, watches, mutes, lambda w: (open_key(w.id, finding.key, opened_at), payload))


def cleared_posts(
    agent: str,
    condition: OpenCondition,
    cleared_at: datetime,
    now_facts: str,
    watches: Sequence[Watch],
    mutes: Mutes,
) -> list[NewPost]:
    if not condition.posted:
        return []

    def post(w: Watch) -> tuple[str, HealthClearPayload]:
        payload = HealthClearPayload(
            finding=condition.finding,
            opened_at=condition.opened_at,
            cleared_at=cleared_at,
            opener_key=open_key(w.id, condition.key, condition.opened_at),
            now=now_facts,
        )
        return clear_key(w.id, condition.key, condition.opened_at), payload

    return fan_out(agent, KIND_HEALTH_CLEAR, watches, mutes, post)


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
        facts.append(f"{agent.active_session_count} of {agent.max_replicas} replicas busy")
    return " · ".join(facts)
