"""The values of agent health decisions (bot/alerts/health/assess.py, bot/alerts/health/states.py):
condition kinds and severities, one condition that holds (`Finding`), where each condition is in
its life (`Track`) and what a status read leaves for the next (`Memory`), all stored as JSON
(open conditions, the agent's status row, outbox payloads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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

# Where a condition is in its life (bot/alerts/health/states.py).
PENDING = "pending"  # seen, not held long enough to alert
OPEN = "open"  # alerted
CLEARING = "clearing"  # alerted, and reads show it gone, not for long enough yet
CLOSED = "closed"  # cleared; it reopens its alert if it comes back soon
STATES = (PENDING, OPEN, CLEARING, CLOSED)


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
            "key": self.key,
            "kind": self.kind,
            "title": self.title,
            "short": self.short,
            "facts": list(self.facts),
            "message": self.message,
            "deployment_id": self.deployment_id,
            "quiet": self.quiet,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            key=str(data["key"]),
            kind=str(data["kind"]),
            title=str(data["title"]),
            short=str(data["short"]),
            facts=tuple(str(f) for f in data.get("facts") or ()),
            message=data.get("message"),
            deployment_id=data.get("deployment_id"),
            quiet=bool(data.get("quiet")),
        )


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class Track:
    """One condition's place in its life, kept between reads (in the agent's `Memory`)."""

    state: str
    #: Pending: the first read of this spell that saw it, and how many reads saw it since.
    first_seen: datetime | None = None
    sightings: int = 0
    #: The first read of the current spell that positively showed it gone (pending, clearing).
    clear_since: datetime | None = None
    #: The alerted occurrence: when it opened (its identity in dedup keys, kept when it reopens),
    #: when it last cleared, and how often it came back.
    opened_at: datetime | None = None
    closed_at: datetime | None = None
    returns: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "first_seen": _iso(self.first_seen),
            "sightings": self.sightings,
            "clear_since": _iso(self.clear_since),
            "opened_at": _iso(self.opened_at),
            "closed_at": _iso(self.closed_at),
            "returns": self.returns,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Track | None:
        """None for anything unreadable (an old or damaged memory forgets that condition)."""
        state = data.get("state")
        if state not in STATES:
            return None
        sightings, returns = data.get("sightings"), data.get("returns")
        return cls(
            state=str(state),
            first_seen=_when(data.get("first_seen")),
            sightings=sightings if isinstance(sightings, int) else 0,
            clear_since=_when(data.get("clear_since")),
            opened_at=_when(data.get("opened_at")),
            closed_at=_when(data.get("closed_at")),
            returns=returns if isinstance(returns, int) else 0,
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
    #: Every condition not simply absent: pending, open, clearing, recently closed.
    tracks: Mapping[str, Track] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "restart_deployment": self.restart_deployment,
            "restart_count": self.restart_count,
            "oom_rise_at": self.oom_rise_at.isoformat() if self.oom_rise_at else None,
            "rollout_desired": self.rollout_desired,
            "rollout_since": self.rollout_since.isoformat() if self.rollout_since else None,
            "capacity_level": self.capacity_level,
            "tracks": {key: track.to_json() for key, track in sorted(self.tracks.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Memory:
        data = data or {}

        def when(name: str) -> datetime | None:
            return _when(data.get(name))

        raw_tracks = data.get("tracks")
        tracks = {
            str(key): track
            for key, value in (raw_tracks.items() if isinstance(raw_tracks, dict) else ())
            if isinstance(value, dict) and (track := Track.from_json(value)) is not None
        }
        count = data.get("restart_count")
        return cls(
            restart_deployment=data.get("restart_deployment"),
            restart_count=count if isinstance(count, int) else None,
            oom_rise_at=when("oom_rise_at"),
            rollout_desired=data.get("rollout_desired"),
            rollout_since=when("rollout_since"),
            capacity_level=data.get("capacity_level") if data.get("capacity_level") in (WARN, FULL) else None,
            tracks=tracks,
        )
