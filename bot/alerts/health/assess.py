"""Agent health and capacity: pure decisions over one status read.

`evaluate(agent, memory, now, warn_percent=…, capacity_hysteresis=…)` says which conditions hold
right now and what to remember for the next read (restart counts, since when a rollout is pending,
the capacity level); `silent_on(agent, key)` says whether the read says nothing about a condition
(a status answer missing the fields it is judged on). When a condition opens, clears or reopens
is bot/alerts/health/states.py's decision, over these. No I/O, no clock reads: table-tested in
tests/unit/alerts/test_health.py.

A condition's `key` is its identity among the agent's conditions. Keys that name a deployment
(`revision:<id>`, `oom:<id>`, `rollout:<id>`) make a second bad deploy a new condition, while a
condition that persists keeps its key and is never posted again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.alerts.health.records import (
    AT_CAPACITY,
    CAPACITY_WARN,
    FULL,
    INFRASTRUCTURE,
    OOM,
    REVISION,
    ROLLOUT,
    SEVERITY,
    UNAVAILABLE,
    WARN,
    Finding,
    Memory,
)
from bot.explain.cause import Cause, quote_lines
from bot.explain.secrets import mask_secrets
from bot.pipecat.models import Agent, RevisionInfo

__all__ = [
    "AT_CAPACITY",
    "CAPACITY_WARN",
    "INFRASTRUCTURE",
    "OOM",
    "REVISION",
    "ROLLOUT",
    "SEVERITY",
    "UNAVAILABLE",
    "Evaluation",
    "Finding",
    "Memory",
    "capacity_level",
    "evaluate",
    "health_line",
    "health_summary",
    "quotable",
    "sessions_against",
    "short_id",
    "silent_on",
]

#: A rollout (desired ≠ reconciled) pending longer than this is stuck.
ROLLOUT_STUCK_AFTER = timedelta(minutes=10)
#: Out-of-memory restarts: the condition clears once restartCount has not risen for this long.
OOM_QUIET_AFTER = timedelta(minutes=15)
#: health.reason values that mean the revision does not run (OOMKilled is its own condition).
CRASH_REASONS = frozenset({"CrashLoopBackOff", "ImagePullBackOff", "Error"})
OOM_REASON = "OOMKilled"
OOM_EXIT_CODE = 137
#: Deployment ids go into keys (and dedup keys); the API's are UUIDs, this bounds anything else.
MAX_ID_IN_KEY = 64


@dataclass(frozen=True)
class Evaluation:
    findings: dict[str, Finding]
    memory: Memory


def quotable(message: str | None) -> str | None:
    """health.message made fit to quote the way a failure cause is: secrets masked, at most 6
    lines / 600 characters, the error's first line and its exception line kept (not escaped yet)."""
    if not message or not message.strip():
        return None
    lines = tuple(mask_secrets(line) for line in message.replace("\r", "").strip("\n").split("\n"))
    return "\n".join(quote_lines(Cause(headline="", where="", lines=lines)))


def short_id(deployment_id: str | None) -> str:
    """The first 8 characters, as the Pipecat dashboard shows deployments."""
    return (deployment_id or "unknown")[:8]


def evaluate(
    agent: Agent, memory: Memory, now: datetime, *, warn_percent: float, capacity_hysteresis: int
) -> Evaluation:
    """The conditions the status shows (`capacity_hysteresis`: sessions below a capacity line
    before its level is left, bot/alerts/policy.py CAPACITY_HYSTERESIS_SESSIONS)."""
    findings: list[Finding] = []
    revision = agent.current_revision
    memory, oom = _oom(revision, memory, now)
    if revision is not None:
        findings += [f for f in (_broken_revision(agent, revision), oom) if f is not None]
        if revision.has_infrastructure_issue:
            rid = short_id(revision.deployment_id)
            findings.append(
                Finding(
                    INFRASTRUCTURE,
                    INFRASTRUCTURE,
                    f"Revision {rid} has an infrastructure issue",
                    "infrastructure issue",
                    _facts(revision),
                    deployment_id=revision.deployment_id,
                )
            )
    if agent.available is False:
        findings.append(
            Finding(
                UNAVAILABLE,
                UNAVAILABLE,
                "Agent is not available: no replica can take sessions",
                "not available",
                _facts(revision) if revision else (),
            )
        )
    memory, rollout = _rollout(agent, memory, now)
    if rollout is not None:
        findings.append(rollout)
    memory, capacity = _capacity(agent, memory, warn_percent, capacity_hysteresis)
    findings += capacity
    return Evaluation({f.key: f for f in findings}, memory)


def silent_on(agent: Agent, key: str) -> bool:
    """Whether this status says nothing about the condition `key` (it does not show it): the
    fields it is judged on are missing, so it must neither clear nor confirm it. A condition of a
    deployment that is no longer the current revision (or the desired one, for a rollout) is
    positively over."""
    kind = key.split(":", 1)[0]
    revision = agent.current_revision
    if kind in (REVISION, OOM, INFRASTRUCTURE):
        if revision is None or revision.deployment_id is None:
            return True
        if _key(kind, revision.deployment_id) != key:
            return False  # another revision runs now: this one's condition is over
        if kind == REVISION:
            return revision.phase is None or revision.health is None
        if kind == OOM:
            return revision.health is None or revision.health.restart_count is None
        return revision.phase is None  # hasInfrastructureIssue is absent when healthy
    if kind == UNAVAILABLE:
        return agent.available is None
    if kind == ROLLOUT:  # a rollout of another deployment, or none: this one is over
        return agent.desired_deployment_id is None or agent.reconciled_deployment_id is None
    if kind in (CAPACITY_WARN, AT_CAPACITY):
        return agent.active_session_count is None or not agent.max_replicas
    return False


def health_summary(findings: Iterable[Finding]) -> str | None:
    """The open conditions, worst first: "new revision 7c1e2f90 crash-looping; busy 8/10"."""
    ordered = sorted(findings, key=lambda f: (list(SEVERITY).index(f.kind) if f.kind in SEVERITY else 99, f.key))
    shown = [f.short for f in ordered if f.kind != CAPACITY_WARN or not any(o.kind == AT_CAPACITY for o in ordered)]
    return "; ".join(shown) if shown else None


def health_line(findings: Iterable[Finding]) -> str | None:
    """The incident parent's health line: "Agent health: new revision 7c1e2f90 crash-looping"."""
    summary = health_summary(findings)
    return f"Agent health: {summary}" if summary else None


def _key(kind: str, deployment_id: str | None) -> str:
    return f"{kind}:{(deployment_id or 'unknown')[:MAX_ID_IN_KEY]}"


def _facts(revision: RevisionInfo) -> tuple[str, ...]:
    facts = [f"Phase {revision.phase or 'unknown'}"]
    if revision.ready_replicas is not None:
        facts.append(f"{revision.ready_replicas} ready replica(s)")
    health = revision.health
    if health is not None:
        if health.restart_count is not None:
            facts.append(f"{health.restart_count} restart(s)")
        if health.last_exit_code is not None:
            oom = " (out of memory)" if health.last_exit_code == OOM_EXIT_CODE else ""
            facts.append(f"last exit code {health.last_exit_code}{oom}")
        if health.last_termination_reason:
            facts.append(f"terminated: {health.last_termination_reason}")
    return tuple(facts)


def _broken_revision(agent: Agent, revision: RevisionInfo) -> Finding | None:
    reason = revision.health.reason if revision.health else None
    crash = reason if reason in CRASH_REASONS else None
    if revision.phase != "Failed" and crash is None:
        return None
    rid = short_id(revision.deployment_id)
    what = {
        "CrashLoopBackOff": "crash-looping",
        "ImagePullBackOff": "cannot pull its image",
        "Error": "exiting with an error",
    }.get(crash or "", "failed")
    new = "new " if agent.previous_revision is not None else ""
    title = f"Revision {rid} {'is ' if crash else ''}{what}" + (f" ({crash})" if crash else "")
    return Finding(
        _key(REVISION, revision.deployment_id),
        REVISION,
        title,
        f"{new}revision {rid} {what}",
        _facts(revision),
        message=quotable(revision.health.message if revision.health else None),
        deployment_id=revision.deployment_id,
    )


def _oom(revision: RevisionInfo | None, memory: Memory, now: datetime) -> tuple[Memory, Finding | None]:
    """Out-of-memory restarts: exit code 137 (or OOMKilled) while restartCount rises; it clears
    after OOM_QUIET_AFTER without a new restart. The first read of a revision that already
    restarted for memory counts as a rise (the restarts happened, we just did not see them)."""
    health = revision.health if revision else None
    if revision is None or health is None or health.restart_count is None:
        return memory, None  # nothing said about restarts: what we knew stays (no news is not news)
    same = memory.restart_deployment == revision.deployment_id and memory.restart_count is not None
    rose = health.restart_count > (memory.restart_count or 0) if same else health.restart_count > 0
    oom_marked = health.last_exit_code == OOM_EXIT_CODE or OOM_REASON in (health.reason, health.last_termination_reason)
    rise_at = memory.oom_rise_at if same else None
    if oom_marked and rose:
        rise_at = now
    memory = replace(
        memory,
        restart_deployment=revision.deployment_id,
        restart_count=health.restart_count,
        oom_rise_at=rise_at if oom_marked else None,
    )
    if not oom_marked or rise_at is None or now - rise_at >= OOM_QUIET_AFTER:
        return memory, None
    rid = short_id(revision.deployment_id)
    return memory, Finding(
        _key(OOM, revision.deployment_id),
        OOM,
        f"Revision {rid} is restarting out of memory (exit code 137)",
        f"out-of-memory restarts on {rid} ({health.restart_count})",
        _facts(revision),
        message=quotable(health.message),
        deployment_id=revision.deployment_id,
    )


def _rollout(agent: Agent, memory: Memory, now: datetime) -> tuple[Memory, Finding | None]:
    if agent.desired_deployment_id is None or agent.reconciled_deployment_id is None:
        return memory, None  # not said: keep since when a rollout was pending
    if not agent.rolling_out:
        return replace(memory, rollout_desired=None, rollout_since=None), None
    desired = agent.desired_deployment_id
    since = memory.rollout_since if memory.rollout_desired == desired and memory.rollout_since else now
    deployment = agent.deployment
    if deployment is not None and deployment.id == desired and deployment.created_at is not None:
        since = min(since, deployment.created_at)  # survives a restart of the app
    memory = replace(memory, rollout_desired=desired, rollout_since=since)
    pending = now - since
    if pending <= ROLLOUT_STUCK_AFTER:
        return memory, None
    minutes = int(pending.total_seconds() // 60)
    did, rid = short_id(desired), short_id(agent.reconciled_deployment_id)
    return memory, Finding(
        _key(ROLLOUT, desired),
        ROLLOUT,
        f"Rollout of deployment {did} is stuck ({minutes} min; still running {rid})",
        f"rollout of {did} stuck for {minutes} min",
        (f"desired {did}", f"reconciled {rid}"),
        deployment_id=desired,
    )


def sessions_against(active: int, max_replicas: int) -> str:
    """ "8 active sessions (maxReplicas 10)": sessions are counted against the replica limit
    (each replica takes one session), never called replicas themselves."""
    return f"{active} active session{'' if active == 1 else 's'} (maxReplicas {max_replicas})"


def capacity_level(
    active: int, max_replicas: int, previous: str | None, warn_percent: float, hysteresis: int
) -> str | None:
    """warn from `warn_percent` of maxReplicas (rounded up to whole sessions), full at maxReplicas;
    a level is left only once the sessions drop `hysteresis` sessions below its line (an agent
    hovering at the line keeps its level)."""
    warn_line = max(1, math.ceil(round(max_replicas * warn_percent / 100, 6)))

    def kept(line: int) -> bool:  # an idle agent is never at a line, whatever the band
        return active >= max(1, line - hysteresis)

    if active >= max_replicas or (previous == FULL and kept(max_replicas)):
        return FULL
    if active >= warn_line or (previous in (WARN, FULL) and kept(warn_line)):
        return WARN
    return None


def _capacity(agent: Agent, memory: Memory, warn_percent: float, hysteresis: int) -> tuple[Memory, list[Finding]]:
    active, limit = agent.active_session_count, agent.max_replicas
    if active is None or not limit:
        return memory, []  # nothing to compare: keep what we knew
    level = capacity_level(active, limit, memory.capacity_level, warn_percent, hysteresis)
    memory = replace(memory, capacity_level=level)
    share = f"{sessions_against(active, limit)}, {100 * active / limit:.0f}%"
    found = []
    if level in (WARN, FULL):
        found.append(
            Finding(
                CAPACITY_WARN,
                CAPACITY_WARN,
                f"Capacity warning: {share}",
                f"{active} sessions of maxReplicas {limit}",
                (f"warns at {warn_percent:g}% of autoScaling.maxReplicas",),
                quiet=level == FULL,
            )
        )
    if level == FULL:
        found.append(
            Finding(
                AT_CAPACITY,
                AT_CAPACITY,
                "At capacity: new sessions are refused (429 PCC-AGENT-AT-CAPACITY)",
                f"at capacity ({active} sessions of maxReplicas {limit})",
                (share,),
            )
        )
    return memory, found
