"""What the Slack surfaces need, built once by the composition root (bot/app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.alerts.service import AlertService
from bot.clock import Clock
from bot.config import Settings
from bot.lookup import AgentDirectory, SessionFinder
from bot.pipecat.client import PipecatClient


@dataclass(frozen=True)
class Deps:
    settings: Settings
    clock: Clock
    pipecat: PipecatClient
    finder: SessionFinder
    agents: AgentDirectory
    alerts: AlertService
