"""What the Slack surfaces need, built once by the composition root (bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.access import Gate
from bot.after_ack import AfterAck
from bot.clock import Clock
from bot.config import Settings
from bot.explain.lookup import LookupCauses
from bot.lookup import AgentDirectory, SessionFinder
from bot.pipecat.client import PipecatClient

if TYPE_CHECKING:  # the alert pipeline imports the store; the Slack layer only calls it
    from bot.alerts.commands import AlertCommands
    from bot.alerts.digest import DigestService
    from bot.store import Store


@dataclass(frozen=True)
class Deps:
    settings: Settings
    clock: Clock
    pipecat: PipecatClient
    finder: SessionFinder
    agents: AgentDirectory
    alerts: AlertCommands
    #: What the Home tab, the Resolve modal and `/session changes` read.
    store: Store
    gate: Gate
    after_ack: AfterAck
    digests: DigestService
    lookup_causes: LookupCauses
