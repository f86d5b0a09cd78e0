"""What changed: pure decisions about the deployments an incident's failures ran on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.blocks.triage import Change, FailingDeployment, Rate
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


def suspect(failing: Sequence[FailingDeployment], started_at: datetime) -> FailingDeployment | None:
    """The deployment the incident points at: the one it started shortly after, or the one its
    failures concentrate on."""
    for item in failing:
        if item.live_since is not None and timedelta(0) <= started_at - item.live_since <= CHANGE_WINDOW:
            return item
    return concentrated(failing)


def previous_of(deployment_id: str, known: Sequence[DeploymentSeen]) -> str | None:
    """The deployment that went live before `deployment_id` (known is oldest first)."""
    ids = [d.deployment_id for d in known]
    if deployment_id not in ids:
        return ids[-1] if ids else None
    index = ids.index(deployment_id)
    return ids[index - 1] if index > 0 else None


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
    pointed = suspect(failing, started_at)
    started_after = None
    if pointed is not None and pointed.live_since is not None:
        gap = started_at - pointed.live_since
        if timedelta(0) <= gap <= CHANGE_WINDOW:
            started_after = (pointed.deployment_id, int(gap.total_seconds() // 60))
    shown: list[Rate] = []
    if pointed is not None and rates is not None and now - rates.computed_at <= RATES_MAX_AGE:
        ordered = sorted(rates.rates, key=lambda r: r.deployment_id != pointed.deployment_id)
        if ordered and ordered[0].deployment_id == pointed.deployment_id:
            shown = [Rate(r.deployment_id, r.sessions, r.failures) for r in ordered[:2]]
    window = timedelta(seconds=rates.window_seconds) if rates else RATES_WINDOW
    return Change(failing=failing, started_after=started_after, rates=tuple(shown), rates_window=window)


def rates_wanted(failing: Sequence[FailingDeployment], started_at: datetime) -> FailingDeployment | None:
    """Whether side-by-side rates are worth their list calls: only when a deployment is suspect."""
    return suspect(failing, started_at)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def went_live_times(status: Mapping[str, Any]) -> dict[str, datetime]:
    """When each deployment an agent's status (`GET /agents/{agent}`, camelCase JSON) names went
    live: an Active revision's `phaseStartedAt`, else the deployment's `createdAt`."""
    times: dict[str, datetime] = {}
    deployment = status.get("deployment")
    if isinstance(deployment, Mapping) and isinstance(deployment.get("id"), str):
        created = _time(deployment.get("createdAt"))
        if created is not None:
            times[deployment["id"]] = created
    for key in ("previousRevision", "currentRevision"):
        revision = status.get(key)
        if not isinstance(revision, Mapping) or not isinstance(revision.get("deploymentID"), str):
            continue
        started = _time(revision.get("phaseStartedAt"))
        if started is not None and str(revision.get("phase", "")).lower() == "active":
            times[revision["deploymentID"]] = started
    return times
