"""What the probes call on the store (bot/store/store.py `Store` satisfies it)."""

from __future__ import annotations

from typing import Protocol

from bot.store.ops import OpsSnapshot


class ProbeStore(Protocol):
    """The HealthProbe (bot/probes/health.py): one snapshot of the pipeline's state."""

    async def ops_snapshot(self) -> OpsSnapshot: ...
