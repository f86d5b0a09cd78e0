"""The replicas under fire: the database restarting, Slack rate-limiting, Pipecat flapping."""

from __future__ import annotations

import asyncio
import itertools
import os
import shlex
import shutil
from glob import glob
from pathlib import Path

import pytest

from bot.store import Store
from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.slack.standin import SlackStandIn
from tests import store_reads
from tests.reliability.conftest import PG_DATA_ENV
from tests.reliability.harness import (
    AGENTS,
    CHANNELS,
    ONE,
    THREE,
    TWO,
    WATCHES,
    Cluster,
    assert_each_represented_exactly_once,
    eventually,
    expected_alerts,
    fail_sessions,
    merge,
    notices_in,
    outages_notified,
    post_times,
    wait_settled,
    watch_by_command,
    watch_in_store,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]

#: Arrival times are taken by the stand-in, the spacing by the replicas' clocks: allow this much
#: measurement noise below one second.
SPACING_TOLERANCE = 0.02
#: Rate-limit storms in the 429 test, and how many posts each one refuses.
STORMS = 3
STORM_SIZE = 4
#: Pipecat requests that get no answer at all during the outage (each until the read timeout).
HANGS = 2


class PgCtl:
    """Stops and starts the test server (as the postgres user when we are root)."""

    def __init__(self, data_dir: str) -> None:
        installed = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3].split(".")[0]))
        found = shutil.which("pg_ctl") or (installed[-1] if installed else None)
        if found is None:
            pytest.skip("pg_ctl not found (install the postgresql package)")
        self.data_dir = data_dir
        self.base = [*(["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []), found, "-D", data_dir]
        # The server's own command line, to start it again exactly as scripts/postgres.sh did.
        args = shlex.split((Path(data_dir) / "postmaster.opts").read_text())[1:]
        at = args.index("-D")
        self.options = shlex.join(args[:at] + args[at + 2 :])

    async def run(self, *args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.base, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await process.communicate()
        assert process.returncode == 0, output.decode()

    async def stop(self) -> None:
        await self.run("-m", "fast", "-w", "-t", "60", "stop")

    async def start(self) -> None:
        log = str(Path(self.data_dir).parent / "server.log")
        await self.run("-l", log, "-o", self.options, "-w", "-t", "60", "start")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgresql"])
async def test_postgresql_restart_mid_run_causes_no_crash_loop_and_no_loss(
    backend: str, cluster: Cluster, shared_store: Store, sim: PipecatSimulator, standin: SlackStandIn
) -> None:
    """The server is stopped while posts are going out (`pg_ctl stop -m fast`: every connection is
    cut), stays down until each replica has run into it, and is started again."""
    data_dir = os.environ.get(PG_DATA_ENV)
    if not data_dir:
        pytest.skip(f"needs {PG_DATA_ENV} (the server's data directory) to restart it")
    pg = PgCtl(data_dir)
    started = await cluster.start(3)
    pids = [r.pid for r in started]
    agents = AGENTS[:3]
    for channel, agent in WATCHES:
        if agent in agents:
            await watch_in_store(shared_store, sim, channel, agent)
    failed = fail_sessions(sim, agents, 12)
    await standin.wait_until(lambda: any(c.ok for c in standin.calls_to("chat.postMessage")), within=30)
    seen = [len(r.log()) for r in started]
    try:
        await pg.stop()
        merge(failed, fail_sessions(sim, agents, 6, start=12))  # while the server is down

        async def all_noticed() -> bool:  # every replica has run into the missing database
            return all("OperationalError" in r.log()[at:] for r, at in zip(started, seen, strict=True))

        await eventually(all_noticed, within=30, what="every replica ran into the stopped database")
        cluster.assert_all_alive()
        await cluster.assert_all_serving()  # still answering meanwhile: /healthz says 503, database unreachable
    finally:
        await pg.start()
    merge(failed, fail_sessions(sim, agents, 6, start=18))  # and after it is back
    expected = await expected_alerts(shared_store, failed)
    await wait_settled(shared_store, expected, within=90)
    await assert_each_represented_exactly_once(shared_store, standin, expected)
    # No crash loop: the same processes, still serving, and back at work after the restart.
    cluster.assert_all_alive()
    assert [r.pid for r in cluster.replicas] == pids
    await cluster.assert_all_healthy()


async def test_slack_429_storm_keeps_each_channel_at_most_one_post_per_second_without_loss(
    backend: str, cluster: Cluster, shared_store: Store, sim: PipecatSimulator, standin: SlackStandIn
) -> None:
    standin.channel_rate_limit = 1.0  # Slack's own limit: a faster post gets 429, Retry-After: 1
    await cluster.start(3 if backend == "postgresql" else 2, stagger=0.3)
    for channel, agent in WATCHES:
        await watch_in_store(shared_store, sim, channel, agent)
    failed: dict[str, list[str]] = {}
    for wave in range(STORMS):
        merge(failed, fail_sessions(sim, AGENTS, 10, start=wave * 10))
        # A storm: the next posts, whichever replica and channel they come from, get 429 with a
        # Retry-After of two seconds. The next wave comes once the storm has blown over.
        await standin.wait_until(lambda: any(c.ok for c in standin.calls_to("chat.postMessage")), within=30)
        standin.rate_limit_next("chat.postMessage", STORM_SIZE, retry_after=2)
        await standin.wait_until(lambda: not standin.faults.pending(), within=60)
    expected = await expected_alerts(shared_store, failed)
    await wait_settled(shared_store, expected, within=120)
    await assert_each_represented_exactly_once(shared_store, standin, expected)
    assert len(standin.rate_limited) >= STORMS * STORM_SIZE
    for channel, calls in post_times(standin).items():
        for (at, status, retry_after), (next_at, _, _) in itertools.pairwise(calls):
            gap = next_at - at
            assert gap >= 1.0 - SPACING_TOLERANCE, f"{channel}: two posts {gap:.3f}s apart"
            if status == 429 and retry_after:
                waited = float(retry_after) - SPACING_TOLERANCE
                assert gap >= waited, f"{channel}: Retry-After {retry_after} not honoured"
    assert set(post_times(standin)) == set(CHANNELS)
    # Each 429 makes its replica leave the channel; whichever comes first after the back-off
    # carries on, so the storms were met by more than one replica.
    met = [r.index for r in cluster.replicas if "Slack rate-limited" in r.log()]
    assert len(met) > 1, f"only replica(s) {met} ever saw a 429"
    cluster.assert_all_alive()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_pipecat_flapping_loses_nothing_and_posts_one_outage_notice_per_outage_per_channel(
    backend: str, cluster: Cluster, shared_store: Store, sim: PipecatSimulator, standin: SlackStandIn
) -> None:
    agents = AGENTS[:3]
    watches = [(ONE, agents[0]), (TWO, agents[1]), (TWO, agents[0]), (THREE, agents[2])]
    # Long-running sessions that are active when the watches start: they end during the outage,
    # and only a detail fetch (itself failing at times) can tell how.
    running = {agent: [sim.start_session(agent) for _ in range(2)] for agent in agents}
    started = await cluster.start(3 if backend == "postgresql" else 2)
    for n, (channel, agent) in enumerate(watches):
        await watch_by_command(started[n % len(started)], standin, channel, agent)
    failed = fail_sessions(sim, agents, 6)
    # Blips: a 5xx burst the client's retries absorb, and one truncated answer (a single failed
    # poll). Neither is an outage: no notice.
    sim.fail_next(2, 502)
    sim.malformed_next(1)
    await standin.wait_until(lambda: len(standin.calls_to("chat.postMessage")) >= 3, within=30)
    # The outage: the first two session requests get no answer at all (until the client's read
    # timeout), every other one a 5xx or a truncated body. Sessions keep failing meanwhile, the
    # long-running ones too.
    sim.hang_next(HANGS, path_contains="/sessions")
    for _ in range(400):
        sim.fail_next(3, 503)
        sim.malformed_next(2)
        sim.fail_next(2, 500)
    merge(failed, fail_sessions(sim, agents, 6, start=6))
    for agent, ids in running.items():
        for sid in ids:
            sim.end_session(agent, sid, "HTTP_ERROR")
        failed[agent].extend(s.lower() for s in ids)
    await eventually(lambda: _true(sim.hanging == HANGS), within=30, what="requests hanging")
    await eventually(lambda: outages_notified(shared_store, agents), within=60, what="an outage notice per agent")
    # The hung requests end when the client gives up on them (its read timeout).
    await eventually(lambda: _true(sim.hanging == 0), within=30, what="the client timing out hung requests")
    sim.clear_faults()
    sim.release_hangs()
    merge(failed, fail_sessions(sim, agents, 6, start=12))  # after recovery
    expected = await expected_alerts(shared_store, failed)
    await wait_settled(shared_store, expected, within=90)
    await standin.wait_until(lambda: len(notices_in(standin, "recovery")) == len(watches), within=60)
    await assert_each_represented_exactly_once(shared_store, standin, expected)
    outage, recovery = notices_in(standin, "outage"), notices_in(standin, "recovery")
    watch_ids = {str(w.id) for agent in agents for w in await store_reads.watches_for_agent(shared_store, agent)}
    assert set(outage) == set(recovery) == watch_ids
    assert all(len(v) == 1 for v in outage.values()) and all(len(v) == 1 for v in recovery.values())
    for messages in (*outage.values(), *recovery.values()):
        [message] = messages
        assert not message.is_reply
    cluster.assert_all_alive()


async def _true(value: bool) -> bool:
    return value
