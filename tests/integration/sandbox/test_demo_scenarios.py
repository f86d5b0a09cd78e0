"""The demo's scenarios explain themselves: the TTS quota storm shows one cause, counted, key masked."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator

import pytest

from sandbox.demo.scenarios import TTS_BURST_SESSIONS, tts_quota_burst
from sandbox.demo.stack import ONCALL_CHANNEL, WATCHED_AGENT, DemoStack, run_demo_stack


@pytest.fixture
async def demo() -> AsyncIterator[DemoStack]:
    async with run_demo_stack(port=0, traffic=False, scheduler=False) as stack:
        yield stack


async def no_sleep(seconds: float) -> None:
    return None


async def test_the_tts_quota_storm_is_one_cause_across_many_sessions(demo: DemoStack) -> None:
    await tts_quota_burst(demo.sim, WATCHED_AGENT, random.Random(1), sleep=no_sleep)
    await demo.runtime.jobs.run_cycle()
    [parent] = [m for m in demo.standin.messages_in(ONCALL_CHANNEL) if m.metadata]
    card = json.dumps(parent.blocks, ensure_ascii=False)
    assert f"{TTS_BURST_SESSIONS} sessions failed" in card
    cause = "CartesiaTTSService error: websocket closed unexpectedly (code N): quota exceeded for key ck_[masked]"
    assert f"× `{cause}`" in card
    assert "not read (burst)" in card  # beyond the per-cycle budget: counted, not read one by one
    replies = demo.standin.messages_in(ONCALL_CHANNEL, thread_ts=parent.ts)
    assert any("```" in json.dumps(r.blocks) for r in replies)
    assert "9f8e7d6c" not in json.dumps([m.blocks for m in [parent, *replies]])
