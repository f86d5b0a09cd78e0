"""The simulator's agent status: deployments, revisions, health and capacity (what bot.pipecat.models.Agent reads).

`GET /agents/{agent}` answers a `ServiceDetailsResponse` built here from a few controllable facts;
the shape copies tests/fixtures/pipecat/agent-status-*.json. Deployments change over time: a
rollout that takes `rollout_seconds` shows desired ≠ reconciled until the simulated clock passes
it, and a crash-looping revision's `restartCount` climbs with the clock, as Kubernetes' back-off
does. Health conditions are switched on and off by the `SimAgentControls` methods the simulator
inherits (tests, benchmarks and the demo share them).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sandbox.pipecat.state import SimAgent, SimClock, iso, new_uuid

#: A crash-looping container restarts about this often (Kubernetes' back-off tops out at 5 min).
CRASH_RESTART_SECONDS = 60
#: The 429 body of a start refused at capacity (the code the official CLI shows).
AT_CAPACITY_BODY = {"error": "Agent is at capacity: no replica can take a new session", "code": "PCC-AGENT-AT-CAPACITY"}
#: Reasons that mean the container is not running (state "waiting", no ready replicas).
WAITING_REASONS = frozenset({"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull"})


@dataclass
class SimDeployment:
    id: str
    created_at: datetime
    image: str
    #: Seconds from creation until the rollout is reconciled; math.inf never finishes (stuck).
    rollout_seconds: float = 0.0
    #: A crash reason (CrashLoopBackOff, ImagePullBackOff, Error, ...) or None for a healthy one.
    crash: str | None = None
    crash_message: str | None = None
    exit_code: int | None = None

    def rolled_out(self, now: datetime) -> bool:
        return (now - self.created_at).total_seconds() >= self.rollout_seconds


@dataclass
class SimAgentStatus:
    deployments: list[SimDeployment]
    min_replicas: int = 1
    max_replicas: int = 10
    available: bool = True
    ready: bool = True
    infrastructure_issue: bool = False
    #: Out-of-memory restarts of the current revision so far (each bumps restartCount).
    oom_restarts: int = 0
    #: restartCount already counted before the current condition (restarts do not reset).
    base_restarts: int = 0
    deployment_ids: list[str] = field(default_factory=list)

    @property
    def desired(self) -> SimDeployment:
        return self.deployments[-1]

    def reconciled(self, now: datetime) -> SimDeployment:
        """The newest deployment whose rollout finished (a failing one is reconciled too: the
        controller applied it, it just does not run)."""
        for deployment in reversed(self.deployments):
            if deployment.rolled_out(now):
                return deployment
        return self.deployments[0]

    def serving(self, now: datetime) -> SimDeployment:
        """The deployment new sessions run on: the newest rolled-out one that does not crash."""
        for deployment in reversed(self.deployments):
            if deployment.rolled_out(now) and deployment.crash is None:
                return deployment
        return self.deployments[0]


def status_of(agent: SimAgent) -> SimAgentStatus:
    """The agent's status facts, created on first use from what `add_agent` recorded."""
    if agent.status is None:
        first = SimDeployment(agent.deployment_id, agent.created_at, f"sim/{agent.name}:1")
        agent.status = SimAgentStatus([first], ready=agent.ready, available=agent.ready)
    return agent.status


def list_item(agent: SimAgent, organization_id: str, now: datetime) -> dict[str, Any]:
    """One item of `GET /agents` (agents-list.json): ids and deployments, no revision health."""
    status = status_of(agent)
    return {
        "id": agent.service_id,
        "name": agent.name,
        "region": agent.region,
        "ready": status.ready,
        "desiredDeploymentId": status.desired.id,
        "activeDeploymentId": status.desired.id,  # deprecated, still sent
        "reconciledDeploymentId": status.reconciled(now).id,
        "organizationId": organization_id,
        "createdAt": iso(agent.created_at),
        "updatedAt": iso(max(agent.created_at, status.desired.created_at)),
        "deletedAt": None,
    }


def details(agent: SimAgent, now: datetime) -> dict[str, Any]:
    """`GET /agents/{agent}` as in agent-status-*.json."""
    status = status_of(agent)
    desired, reconciled = status.desired, status.reconciled(now)
    current = _revision(status, desired, now)
    older = status.deployments[:-1]
    previous = _revision(status, older[-1], now, previous=True) if older else None
    active = sum(1 for s in agent.sessions.values() if s.active)
    ready = status.ready and desired.crash is None and desired.rolled_out(now)
    scaling = {"minReplicas": status.min_replicas, "maxReplicas": status.max_replicas}
    return {
        "name": agent.name,
        "region": agent.region,
        "ready": ready,
        "available": status.available,
        "createdAt": iso(agent.created_at),
        "updatedAt": iso(max(agent.created_at, desired.created_at)),
        "desiredDeploymentId": desired.id,
        "activeDeploymentId": desired.id,
        "reconciledDeploymentId": reconciled.id,
        "activeDeploymentReady": ready,
        "autoScaling": scaling,
        "activeSessionCount": active,
        "agentProfile": "agent-1x",
        "serviceId": agent.service_id,
        "deployment": {
            "id": desired.id,
            "manifest": {
                "apiVersion": "pipecatcloud.daily.co/v1",
                "kind": "PCService",
                "metadata": {"name": agent.name},
                "spec": {
                    "image": desired.image,
                    "autoScaling": scaling,
                    "resources": {"cpu": "500m", "memory": "1Gi"},
                    "maxSessionDurationSeconds": 3600,
                },
            },
            "serviceId": agent.service_id,
            "createdAt": iso(desired.created_at),
            "updatedAt": iso(desired.created_at),
        },
        "currentRevision": current,
        "previousRevision": previous,
    }


def _revision(status: SimAgentStatus, deployment: SimDeployment, now: datetime, *, previous: bool = False) -> Any:
    started = deployment.created_at
    if previous:
        # The old revision keeps serving while the new one is not healthy, then drains.
        replaced = status.desired.crash is None and status.desired.rolled_out(now)
        return {
            "deploymentID": deployment.id,
            "phase": "Draining" if replaced else "Active",
            "readyReplicas": 0 if replaced else max(status.min_replicas, 1),
            "phaseStartedAt": iso(started),
            "health": {"ready": not replaced, "state": "running", "restartCount": 0, "replicasStarted": 1},
        }
    health: dict[str, Any] = {
        "ready": True,
        "state": "running",
        "restartCount": status.base_restarts,
        "replicasStarted": 1,
    }
    phase, ready_replicas = "Active", max(status.min_replicas, 1)
    if not deployment.rolled_out(now):
        phase, ready_replicas, health["ready"] = "Validating", 0, False
    elif deployment.crash is not None:
        since = deployment.created_at + timedelta(seconds=deployment.rollout_seconds)
        restarts = 1 + math.floor(max((now - since).total_seconds(), 0) / CRASH_RESTART_SECONDS)
        phase, ready_replicas = "Failed", 0
        started = since
        health.update(
            ready=False,
            state="waiting" if deployment.crash in WAITING_REASONS else "terminated",
            restartCount=status.base_restarts + restarts,
            reason=deployment.crash,
            lastExitCode=deployment.exit_code,
            lastTerminationReason="Error",
            message=deployment.crash_message,
        )
    if status.oom_restarts and deployment.crash is None:
        health.update(
            restartCount=status.base_restarts + status.oom_restarts,
            replicasStarted=1 + status.oom_restarts,
            reason="OOMKilled",
            lastExitCode=137,
            lastTerminationReason="OOMKilled",
        )
    revision: dict[str, Any] = {
        "deploymentID": deployment.id,
        "phase": phase,
        "readyReplicas": ready_replicas,
        "phaseStartedAt": iso(started),
        "health": health,
    }
    if status.infrastructure_issue:
        revision["hasInfrastructureIssue"] = True  # absent when healthy, as in the API
    return revision


class SimAgentControls:
    """Health and deployment controls; mixed into PipecatSimulator (which provides these)."""

    clock: SimClock
    _rng: random.Random

    def agent(self, name: str) -> SimAgent:
        raise NotImplementedError

    def deploy(
        self,
        agent: str,
        *,
        rollout_seconds: float = 0.0,
        crash: str | None = None,
        message: str | None = None,
        exit_code: int | None = 1,
        deployment_id: str | None = None,
    ) -> str:
        """A new deployment goes live now. `crash` makes it crash-loop with that reason (its
        traceback in `message`); `rollout_seconds=math.inf` leaves it stuck rolling out."""
        owner = self.agent(agent)
        status = status_of(owner)
        new = SimDeployment(
            deployment_id or new_uuid(self._rng),
            self.clock.now(),
            f"sim/{agent}:{len(status.deployments) + 1}",
            rollout_seconds=rollout_seconds,
            crash=crash,
            crash_message=message,
            exit_code=exit_code if crash else None,
        )
        status.deployments.append(new)
        status.oom_restarts = 0
        if crash is None and rollout_seconds == 0:
            owner.deployment_id = new.id
        return new.id

    def finish_rollout(self, agent: str) -> None:
        """The stuck (or slow) rollout completes now."""
        status = status_of(self.agent(agent))
        status.desired.rollout_seconds = (self.clock.now() - status.desired.created_at).total_seconds()
        self.agent(agent).deployment_id = status.serving(self.clock.now()).id

    def oom_restart(self, agent: str, times: int = 1) -> None:
        """The current revision's container was OOM-killed `times` more times (exit 137)."""
        status = status_of(self.agent(agent))
        status.oom_restarts += times

    def set_infrastructure_issue(self, agent: str, on: bool = True) -> None:
        status_of(self.agent(agent)).infrastructure_issue = on

    def set_available(self, agent: str, available: bool) -> None:
        status_of(self.agent(agent)).available = available

    def set_max_replicas(self, agent: str, max_replicas: int, *, min_replicas: int | None = None) -> None:
        status = status_of(self.agent(agent))
        status.max_replicas = max_replicas
        if min_replicas is not None:
            status.min_replicas = min_replicas

    def clear_oom(self, agent: str) -> None:
        """OOM restarts stop being reported (a fix went in); restartCount keeps what it counted."""
        status = status_of(self.agent(agent))
        status.base_restarts += status.oom_restarts
        status.oom_restarts = 0

    def at_capacity(self, agent: str) -> bool:
        owner = self.agent(agent)
        active = sum(1 for s in owner.sessions.values() if s.active)
        return active >= status_of(owner).max_replicas

    def serving_deployment(self, agent: str) -> str:
        return status_of(self.agent(agent)).serving(self.clock.now()).id
