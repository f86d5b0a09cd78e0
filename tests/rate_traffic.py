"""The simulator's traffic model (bot/sandbox/pipecat_sim_traffic.py), for rate tests."""

from __future__ import annotations

from bot.sandbox.pipecat_sim_traffic import Traffic

__all__ = ["Traffic"]
