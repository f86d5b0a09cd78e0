"""What changed: pure decisions about the deployments an incident's failures ran on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.blocks.triage import Change, FailingDeployment, Rate
from bot.contracts.times import parse_iso
from bot.store.records import DeploymentSeen, DeployRates

#: An incident that starts this soon after a deployment went live is said to follow it.
CHANGE_WINDOW = timedelta(hours=1)
#: Failures "concentrate" on one deployment when at least this share of them ran on it...
CONCENTRATION_SHARE = 0.8
#: ...and there are at least this many of them.
CONCENTRATION_MIN = 3
#: Side-by-side rates are read over this window (the same one for both deployments).
RATES_WINDOW = timedelta(hours=1)
#: Rates older than this are not shown (they were computed for an earlier burst).
RATES_MAX_AGE = timedelta(minutes=30)


def failing_deployments(
    deployment_ids: Iterable[str | None], known: Sequence[DeploymentSeen]
) -> tuple[FailingDeployment, ...]:
    counts = Counter(d for d in deployment_ids if d)
    live = live_times(known)
    return tuple(FailingDeployment(d, n, live.get(d)) for d, n in counts.most_common())


def live_times(known: Sequence[DeploymentSeen]) -> dict[str, datetime | None]:
    """When each deployment went live: from the agent's status when known; otherwise when the app
    first saw a session on it, except for the first deployment the app ever saw of the agent
    (it was live before the app looked: that sighting is no deployment change)."""
    times: dict[str, datetime | None] = {}
    for index, item in enumerate(known):
        times[item.deployment_id] = item.went_live_at or (item.first_seen_at if index > 0 else None)
    return times


def concentrated(failing: Sequence[FailingDeployment]) -> FailingDeployment | None:
    total = sum(f.failures for f in failing)
    if not failing or total < CONCENTRATION_MIN:
        return None
    top = failing[0]
    return top if top.failures / total >= CONCENTRATION_SHARE else None


def started_after(item: FailingDeployment, started_at: datetime, known: Sequence[DeploymentSeen]) -> int | None:
    """Minutes between `item` going live and the incident starting, when that is a change the
    incident followed: within CHANGE_WINDOW, and `item` replaced another deployment (the agent's
    first deployment, or the first the app ever saw with nothing known before it, is no change)."""
    if item.live_since is None or previous_of(item.deployment_id, known) is None:
        return None
    gap = started_at - item.live_since
    return int(gap.total_seconds() // 60) if timedelta(0) <= gap <= CHANGE_WINDOW else None


def suspect(
    failing: Sequence[FailingDeployment], started_at: datetime, known: Sequence[DeploymentSeen]
) -> FailingDeployment | None:
    """The deployment the incident points at: the change it started shortly after, or the one its
    failures concentrate on."""
    for item in failing:
        if started_after(item, started_at, known) is not None:
            return item
    return concentrated(failing)


def previous_of(deployment_id: str, known: Sequence[DeploymentSeen]) -> str | None:
    """The deployment `deployment_id` replaced: the one the agent's status named as its previous
    revision (whatever that revision's phase, so also a Draining one the app never saw a session
    of), else the one the app knew before it (known is oldest first); None for the first."""
    ids = [d.deployment_id for d in known]
    if deployment_id not in ids:
        return ids[-1] if ids else None
    index = ids.index(deployment_id)
    if known[index].replaced and known[index].replaced != deployment_id:
        return known[index].replaced
    return ids[index - 1] if index > 0 else None


def continues_on(failing: Sequence[FailingDeployment], started_at: datetime) -> str | None:
    """The newest deployment that went live after the incident started and fails too: the
    failures outlived that deploy (a fix or a rollback that did not help)."""
    newer = [(f.live_since, f.deployment_id) for f in failing if f.live_since is not None and f.live_since > started_at]
    return max(newer)[1] if newer else None


def explain_change(
    deployment_ids: Iterable[str | None],
    known: Sequence[DeploymentSeen],
    started_at: datetime,
    rates: DeployRates | None,
    now: datetime,
) -> Change | None:
    failing = failing_deployments(deployment_ids, known)
    if not failing:
        return None
    pointed = suspect(failing, started_at, known)
    minutes = started_after(pointed, started_at, known) if pointed is not None else None
    after = (pointed.deployment_id, minutes) if pointed is not None and minutes is not None else None
    shown: list[Rate] = []
    if pointed is not None and rates is not None and now - rates.computed_at <= RATES_MAX_AGE:
        ordered = sorted(rates.rates, key=lambda r: r.deployment_id != pointed.deployment_id)
        if ordered and ordered[0].deployment_id == pointed.deployment_id:
            shown = [Rate(r.deployment_id, r.sessions, r.failures) for r in ordered[:2]]
    window = timedelta(seconds=rates.window_seconds) if rates else RATES_WINDOW
    return Change(
        failing=failing,
        started_after=after,
        rates=tuple(shown),
        rates_window=window,
        continues_on=continues_on(failing, started_at),
    )


def rates_wanted(
    failing: Sequence[FailingDeployment], started_at: datetime, known: Sequence[DeploymentSeen]
) -> FailingDeployment | None:
    """Whether side-by-side rates are worth their list calls: only when a deployment is suspect."""
    return suspect(failing, started_at, known)


def went_live_times(status: Mapping[str, Any]) -> dict[str, datetime]:
    """When each deployment an agent's status (`GET /agents/{agent}`, camelCase JSON) names went
    live: an Active revision's `phaseStartedAt`, else the deployment's `createdAt`."""
    times: dict[str, datetime] = {}
    deployment = status.get("deployment")
    if isinstance(deployment, Mapping) and isinstance(deployment.get("id"), str):
        created = parse_iso(deployment.get("createdAt"))
        if created is not None:
            times[deployment["id"]] = created
    for key in ("previousRevision", "currentRevision"):
        revision = status.get(key)
        if not isinstance(revision, Mapping) or not isinstance(revision.get("deploymentID"), str):
            continue
        started = parse_iso(revision.get("phaseStartedAt"))
        if started is not None and str(revision.get("phase", "")).lower() == "active":
            times[revision["deploymentID"]] = started
    return times


def replaced_pair(status: Mapping[str, Any]) -> tuple[str, str] | None:
    """(current deployment, the deployment it replaced) as an agent's status names them: the
    current revision's `deploymentID` (else the deployment's `id`) and `previousRevision`'s,
    whatever that revision's phase (Active while the rollout runs, Draining after). None when the
    status names no previous revision (the agent's first deployment)."""
    previous = status.get("previousRevision")
    if not isinstance(previous, Mapping) or not isinstance(previous.get("deploymentID"), str):
        return None
    current = status.get("currentRevision")
    deployment = status.get("deployment")
    current_id = current.get("deploymentID") if isinstance(current, Mapping) else None
    if not isinstance(current_id, str) and isinstance(deployment, Mapping):
        current_id = deployment.get("id")
    if not isinstance(current_id, str) or not current_id or current_id == previous["deploymentID"]:
        return None
    return current_id, previous["deploymentID"]
