"""What the explanations read and write in the store: one Protocol per caller, each listing the
Store methods it calls (bot/store/store.py `Store` satisfies them all)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bot.store.records import CauseStat, DeploymentSeen, DeployRates, NewCause, SessionCause
from bot.webhooks.events import StoredEvent


class ChangeStore(Protocol):
    """The change timeline (bot/explain/changes.py): stored webhook events and the builds they name."""

    async def webhook_builds(self, build_ids: Sequence[str]) -> list[StoredEvent]: ...

    async def webhook_events_between(self, since: datetime, until: datetime, limit: int) -> list[StoredEvent]: ...


class TriageStore(ChangeStore, Protocol):
    """An incident's triage (bot/explain/views.py `incident_triage`): its failures' causes, the
    deployments, and the change timeline."""

    async def cause_stats(
        self, agent: str, fps: Sequence[str], *, before_incident: int | None = None
    ) -> dict[str, CauseStat]: ...

    async def deploy_rates_of(self, agent: str) -> DeployRates | None: ...

    async def deployments_of(self, agent: str) -> list[DeploymentSeen]: ...

    async def incident_failures(self, incident_id: int, agent: str) -> list[SessionCause]: ...

    async def link_incident_causes(
        self, agent: str, incident_id: int, channel_id: str, fps: Sequence[str], now: datetime
    ) -> None: ...


class ExplainerStore(Protocol):
    """The Explainer (bot/explain/explainer.py): the cause cache, deployments, late-cause reply edits."""

    async def agents_with_pending_causes(self, max_attempts: int) -> list[str]: ...

    async def deployments_of(self, agent: str) -> list[DeploymentSeen]: ...

    async def note_deployments(self, agent: str, first_seen: Mapping[str, datetime]) -> None: ...

    async def note_failed_read(self, agent: str, session_id: str) -> None: ...

    async def pending_causes(self, agent: str, max_attempts: int, limit: int) -> list[SessionCause]: ...

    async def queue_reply_edits(self, agent: str, session_ids: Sequence[str], now: datetime) -> int: ...

    async def record_causes(self, agent: str, causes: Sequence[NewCause], now: datetime) -> list[str]: ...

    async def save_deploy_rates(self, agent: str, rates: DeployRates) -> None: ...

    async def session_causes(self, agent: str, session_ids: Iterable[str]) -> dict[str, SessionCause]: ...

    async def set_deployment_live(self, agent: str, deployment_id: str, went_live_at: datetime) -> bool: ...

    async def set_deployment_replaced(
        self, agent: str, deployment_id: str, replaced: str, seen_at: datetime
    ) -> bool: ...


class LookupStore(Protocol):
    """LookupCauses (bot/explain/lookup.py): the cause cache a `/session` lookup reads and fills."""

    async def queue_reply_edits(self, agent: str, session_ids: Sequence[str], now: datetime) -> int: ...

    async def record_causes(self, agent: str, causes: Sequence[NewCause], now: datetime) -> list[str]: ...

    async def session_causes(self, agent: str, session_ids: Iterable[str]) -> dict[str, SessionCause]: ...
