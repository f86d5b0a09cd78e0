"""The values of agent health decisions (bot/alerts/health.py): condition kinds and severities,
one condition that holds (`Finding`) and what a status read leaves for the next (`Memory`), both
stored as JSON (open conditions, the agent's status row, outbox payloads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.webhooks.decide import SEVERITY as WEBHOOK_SEVERITY

# Condition kinds (the first part of a key); the pager maps them to severities.
REVISION = "revision"
OOM = "oom"
INFRASTRUCTURE = "infrastructure"
UNAVAILABLE = "unavailable"
ROLLOUT = "rollout"
CAPACITY_WARN = "capacity-warn"
AT_CAPACITY = "at-capacity"
SEVERITY = {
    REVISION: "critical",
    UNAVAILABLE: "critical",
    AT_CAPACITY: "error",
    OOM: "error",
    INFRASTRUCTURE: "error",
    ROLLOUT: "warning",
    CAPACITY_WARN: "warning",
    **WEBHOOK_SEVERITY,  # spend limit, trial end, suspension: alerts that webhook events open
}

WARN, FULL = "warn", "full"


@dataclass(frozen=True)
class Finding:
    """One condition that holds now."""

    key: str
    kind: str
    #: The alert's headline, plain text: "Revision 7c1e2f90 is crash-looping (CrashLoopBackOff)".
    title: str
    #: Short phrase for the incident parent: "new revision 7c1e2f90 crash-looping".
    short: str
    facts: tuple[str, ...] = ()
    #: health.message (usually the crash's traceback), quoted by the alert.
    message: str | None = None
    deployment_id: str | None = None
    #: Opened without a post of its own (a capacity warning implied by "at capacity").
    quiet: bool = False

    @property
    def severity(self) -> str:
        return SEVERITY.get(self.kind, "warning")

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "kind": self.kind, "title": self.title, "short": self.short,
            "facts": list(self.facts), "message": self.message, "deployment_id": self.deployment_id,
            "quiet": self.quiet,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            key=str(data["key"]), kind=str(data["kind"]), title=str(data["title"]), short=str(data["short"]),
            facts=tuple(str(f) for f in data.get("facts") or ()), message=data.get("message"),
            deployment_id=data.get("deployment_id"), quiet=bool(data.get("quiet")),
        )


@dataclass(frozen=True)
class Memory:
    """What one read leaves for the next (stored per agent as JSON)."""

    restart_deployment: str | None = None
    restart_count: int | None = None
    oom_rise_at: datetime | None = None
    rollout_desired: str | None = None
    rollout_since: datetime | None = None
    capacity_level: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "restart_deployment": self.restart_deployment,
            "restart_count": self.restart_count,
            "oom_rise_at": self.oom_rise_at.isoformat() if self.oom_rise_at else None,
            "rollout_desired": self.rollout_desired,
            "rollout_since": self.rollout_since.isoformat() if self.rollout_since else None,
            "capacity_level": self.capacity_level,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Memory:
        data = data or {}

        def when(name: str) -> datetime | None:
            value = data.get(name)
            return datetime.fromisoformat(value) if isinstance(value, str) else None

        count = data.get("restart_count")
        return cls(
            restart_deployment=data.get("restart_deployment"),
            restart_count=count if isinstance(count, int) else None,
            oom_rise_at=when("oom_rise_at"),
            rollout_desired=data.get("rollout_desired"),
            rollout_since=when("rollout_since"),
            capacity_level=data.get("capacity_level") if data.get("capacity_level") in (WARN, FULL) else None,
        )
