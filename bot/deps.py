"""What the Slack surfaces need, built once by the composition root (bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.access import Gate
from bot.after_ack import AfterAck
from bot.alerts.rates.ports import SloLinesStore
from bot.clock import Clock
from bot.config import Settings
from bot.contracts.views import AgentPoll, HomeWatch
from bot.explain.lookup import LookupCauses
from bot.explain.ports import ChangeStore
from bot.lookup import AgentDirectory, SessionFinder
from bot.pipecat.client import PipecatClient
from bot.store.records import Incident, OpenCondition, OutboxRow, PagerAlert

if TYPE_CHECKING:  # the alert pipeline's stages; the Slack layer only calls them
    from bot.alerts.commands import AlertCommands
    from bot.alerts.digest import DigestService


class SurfaceStore(ChangeStore, SloLinesStore, Protocol):
    """What the Slack surfaces read from the store themselves (bot/store/store.py `Store` satisfies
    it): the Home tab (bot/slack/home.py, its SLO lines through bot/alerts/rates/view.py), the Resolve
    modal (bot/slack/incident_actions.py) and `/session changes` (bot/slack/commands.py, through
    bot/explain/changes.py)."""

    async def agent_polls(self) -> tuple[AgentPoll, ...]: ...

    async def all_open_incidents(self) -> list[Incident]: ...

    async def home_watches(self, now: datetime) -> list[HomeWatch]: ...

    async def incident_by_parent(self, channel_id: str, parent_ts: str) -> Incident | None: ...

    async def open_conditions(self, agent: str | None = None) -> list[OpenCondition]: ...

    async def pager_alert_for_incident(self, incident_id: int) -> PagerAlert | None: ...

    async def recent_alerts(self, limit: int) -> list[OutboxRow]: ...


@dataclass(frozen=True)
class Deps:
    settings: Settings
    clock: Clock
    pipecat: PipecatClient
    finder: SessionFinder
    agents: AgentDirectory
    alerts: AlertCommands
    #: What the Home tab, the Resolve modal and `/session changes` read.
    store: SurfaceStore
    gate: Gate
    after_ack: AfterAck
    digests: DigestService
    lookup_causes: LookupCauses
