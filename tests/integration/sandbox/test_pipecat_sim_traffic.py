"""The simulator's traffic model over real HTTP (what the app's polls read): calls that outlive a
poll interval (`Traffic.tick` with `session_seconds`, bench/busy.py's busy agent), the per-minute
model the rate tests use, and sessions the simulator forgets so that hours of traffic stay fast."""

from __future__ import annotations

from datetime import timedelta

from bot.pipecat.client import PipecatClient
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.pipecat.traffic import Traffic

AGENT = "voice-bot"


async def test_calls_longer_than_a_poll_interval_keep_running_across_ticks(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient, sim_clock: SimClock
) -> None:
    # 20 calls a second lasting 50 s: 1 000 running at once once the first ones end.
    traffic = Traffic(pipecat_sim, AGENT, per_minute=1200, fail_share=0.02, session_seconds=50)
    for _ in range(8):  # two simulated minutes, a poll interval at a time
        sim_clock.advance(15)
        traffic.tick(15)
    active = await pipecat_client.all_sessions(AGENT, status="active")
    assert len(active) == traffic.running and abs(traffic.running - 1000) <= 1  # (a call ends at its 50th second)
    starts = [s.created_at for s in active if s.created_at is not None]
    assert len(starts) == len(active) and min(starts) > sim_clock.now() - timedelta(seconds=50)
    ended = await pipecat_client.all_sessions(AGENT, status="ended")
    assert len(ended) + len(active) == traffic.started == 2400
    assert {s.ended_at - s.created_at for s in ended if s.created_at and s.ended_at} == {timedelta(seconds=50)}
    failed = {s.session_id for s in ended if s.completion_status == "HTTP_ERROR"}
    assert failed <= set(traffic.failed_ids) and abs(len(failed) - 0.02 * len(ended)) <= 1


async def test_the_per_minute_model_still_ends_every_call_within_its_minute(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient, sim_clock: SimClock
) -> None:
    traffic = Traffic(pipecat_sim, AGENT, per_minute=60, fail_share=0.5)
    sim_clock.advance(60)
    traffic.minute()
    assert await pipecat_client.all_sessions(AGENT, status="active") == []
    ended = await pipecat_client.all_sessions(AGENT, status="ended")
    assert len(ended) == traffic.started == 60 and traffic.failed == 30 and traffic.running == 0
    assert max(s.ended_at - s.created_at for s in ended if s.created_at and s.ended_at) == timedelta(seconds=20)


async def test_forgotten_sessions_are_no_longer_listed_nor_their_logs_read(
    pipecat_sim: PipecatSimulator, pipecat_client: PipecatClient, sim_clock: SimClock
) -> None:
    old = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    sim_clock.advance(600)
    recent = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
    running = pipecat_sim.start_session(AGENT, created_at=sim_clock.now() - timedelta(hours=1))
    assert len(await pipecat_client.all_sessions(AGENT, status="all")) == 3  # (listed once: cached order)
    assert pipecat_sim.forget_sessions(AGENT, sim_clock.now() - timedelta(minutes=5)) == 1
    listed = {s.session_id for s in await pipecat_client.all_sessions(AGENT, status="all")}
    assert listed == {recent, running}  # a running call is never forgotten, however old
    assert (await pipecat_client.session_log(AGENT, old)).lines == ()
    assert (await pipecat_client.session_log(AGENT, recent)).lines
