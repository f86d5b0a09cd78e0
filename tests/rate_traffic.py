"""The simulator's traffic model (sandbox/pipecat/traffic.py), for rate tests."""

from __future__ import annotations

from sandbox.pipecat.traffic import Traffic

__all__ = ["Traffic"]
