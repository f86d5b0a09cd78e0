"""Real `python -m bot` replicas (HTTP mode, scheduler in-process) against the Pipecat simulator and
the Slack stand-in, both served by the test process on loopback.

The replicas read the system clock, so the simulator's clock follows real time (`WallClock`).
Everything the tests wait for is a condition (the stand-in's `wait_until`, a database query, a
line in a replica's log) with a generous deadline; nothing waits a fixed time for correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from bot.contracts.alerts import ALERT_EVENT_TYPE as EVENT_TYPE
from bot.store import Store
from bot.store.records import DELIVERABLE, OutboxKind, OutboxState, Watch
from bot.store.schema import alert_outbox, incidents, poll_state
from sandbox.pipecat.simulator import PipecatSimulator, WallClock
from sandbox.signing import sign_request, slash_command_body
from sandbox.slack.standin import SlackStandIn, StoredMessage
from tests import store_reads

SIGNING_SECRET = "reliability-signing-secret"
BOT_TOKEN = "xoxb-reliability-token"
PIPECAT_KEY = "reliability-sim-key"
USER = "U0RELIABLE"
#: What the replicas poll at (the smallest interval the settings allow).
POLL_INTERVAL_SECONDS = 1
#: Sessions in the simulator's answers per page.
SIM_PAGE_SIZE = 100
AGENTS = ("agent-a", "agent-b", "agent-c", "agent-d", "agent-e")
CHANNELS = {"C0RELONE": "rel-one", "C0RELTWO": "rel-two", "C0RELTHREE": "rel-three"}
ONE, TWO, THREE = CHANNELS
#: (channel, agent) watches: every agent watched somewhere, one of them in two channels. Two per
#: channel at most: posts to a channel are spaced by a second, so each watch costs test time.
WATCHES: tuple[tuple[str, str], ...] = (
    (ONE, "agent-a"),
    (ONE, "agent-b"),
    (TWO, "agent-c"),
    (TWO, "agent-a"),
    (THREE, "agent-d"),
    (THREE, "agent-e"),
)
#: How long a replica may take to answer /healthz after it was started.
READY_WITHIN = 45.0
PR_SET_PDEATHSIG = 1
_LISTED_ID = re.compile(r"`([0-9a-fA-F-]{36})`")


def new_simulator() -> PipecatSimulator:
    sim = PipecatSimulator(api_key=PIPECAT_KEY, clock=WallClock(), max_page_size=SIM_PAGE_SIZE)
    for agent in AGENTS:
        sim.add_agent(agent)
    return sim


def new_standin() -> SlackStandIn:
    standin = SlackStandIn(bot_token=BOT_TOKEN)
    for channel_id, name in CHANNELS.items():
        standin.add_channel(channel_id, name)
    return standin


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float, what: str, interval: float = 0.25) -> None:
    """Wait until the async condition holds (re-checked every `interval`); TimeoutError after `within`."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {within:.0f}s: {what}")
        await asyncio.sleep(interval)


# -- replicas ------------------------------------------------------------------------------------


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it if the test process dies without its clean-up (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Replica:
    index: int
    port: int
    log_path: Path
    process: subprocess.Popen[bytes]
    stopped: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


@dataclass
class Cluster:
    """The replicas of one test; `close()` kills every one of them (also when the test failed)."""

    workdir: Path
    database_url: str
    pipecat_url: str
    slack_url: str
    replicas: list[Replica] = field(default_factory=list)
    #: Settings of every replica started after it is set, on top of the ones below.
    extra_env: dict[str, str] = field(default_factory=dict)

    def env(self, port: int) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")}
        return {
            **base,
            "PYTHONUNBUFFERED": "1",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": f"{self.slack_url}/api/",
            "PIPECAT_API_KEY": PIPECAT_KEY,
            "PIPECAT_API_URL": f"{self.pipecat_url}/v1",
            "DATABASE_URL": self.database_url,
            "PORT": str(port),
            "POLL_INTERVAL_SECONDS": str(POLL_INTERVAL_SECONDS),
            "LOG_LEVEL": "INFO",
            **self.extra_env,
        }

    def spawn(self) -> Replica:
        index = len(self.replicas)
        port = free_port()
        log_path = self.workdir / f"replica-{index}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot"],
                cwd=self.workdir,  # no stray .env: the settings come from env() alone
                env=self.env(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        replica = Replica(index, port, log_path, process)
        self.replicas.append(replica)
        return replica

    async def start(self, count: int, *, stagger: float = 0.0) -> list[Replica]:
        """Start `count` replicas at once, or (with `stagger`) one after the other, each once the
        previous is ready plus `stagger` seconds. Replicas started together run their 1-second
        cycles almost in phase, and the earliest one then wins nearly every race for a channel;
        staggering spreads the phases so hand-overs between replicas really happen."""
        if not stagger:
            started = [self.spawn() for _ in range(count)]
            await asyncio.gather(*(self.wait_ready(r) for r in started))
            return started
        started = []
        for n in range(count):
            if n:
                await asyncio.sleep(stagger)  # shapes the replicas' timing; nothing waits on it
            started.append(self.spawn())
            await self.wait_ready(started[-1])
        return started

    async def wait_ready(self, replica: Replica) -> None:
        deadline = time.monotonic() + READY_WITHIN
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if not replica.alive:
                    raise AssertionError(f"replica {replica.index} exited at start:\n{replica.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{replica.url}/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"replica {replica.index} not ready within {READY_WITHIN}s:\n{replica.tail()}")
                await asyncio.sleep(0.1)

    def by_replica_id(self, replica_id: str) -> Replica:
        """The process behind a lease owner (replica ids are `<host>-<pid>-<random>`)."""
        pid = int(replica_id.rsplit("-", 2)[1])
        return next(r for r in self.replicas if r.pid == pid)

    def kill(self, replica: Replica) -> None:
        replica.process.send_signal(signal.SIGKILL)
        replica.process.wait(timeout=10)

    def stop(self, replica: Replica) -> None:
        replica.process.send_signal(signal.SIGSTOP)
        replica.stopped = True

    def resume(self, replica: Replica) -> None:
        replica.process.send_signal(signal.SIGCONT)
        replica.stopped = False

    def assert_all_alive(self, *, except_: Iterable[Replica] = ()) -> None:
        skip = {r.index for r in except_}
        for replica in self.replicas:
            if replica.index not in skip:
                code = replica.process.returncode
                assert replica.alive, f"replica {replica.index} exited ({code}):\n{replica.tail()}"

    async def assert_all_healthy(self, *, except_: Iterable[Replica] = ()) -> None:
        skip = {r.index for r in except_}
        async with httpx.AsyncClient(timeout=5) as http:
            for replica in self.replicas:
                if replica.index not in skip:
                    assert (await http.get(f"{replica.url}/healthz")).status_code == 200

    async def assert_all_serving(self, *, except_: Iterable[Replica] = ()) -> None:
        """Every replica answers while its database is away: /healthz with 503 and the reason."""
        skip = {r.index for r in except_}
        async with httpx.AsyncClient(timeout=5) as http:
            for replica in self.replicas:
                if replica.index not in skip:
                    answer = await http.get(f"{replica.url}/healthz")
                    assert answer.status_code == 503, answer.text
                    assert answer.json()["reasons"][0].startswith("database unreachable"), answer.text

    def close(self) -> str:
        """Kill every replica (resuming stopped ones first); returns their log tails."""
        report = []
        for replica in self.replicas:
            with contextlib.suppress(ProcessLookupError):
                if replica.stopped:
                    replica.process.send_signal(signal.SIGCONT)
                replica.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                replica.process.wait(timeout=10)
            report.append(f"--- replica {replica.index} (pid {replica.pid}) ---\n{replica.tail()}")
        return "\n".join(report)


async def watch_by_command(replica: Replica, standin: SlackStandIn, channel_id: str, agent: str) -> None:
    """`/session watch <agent>` in the channel, signed as Slack signs it, sent to one replica."""
    url = standin.response_url(channel_id=channel_id, user_id=USER)
    body = slash_command_body(f"watch {agent}", channel_id=channel_id, user_id=USER, response_url=url)
    headers = {**sign_request(SIGNING_SECRET, body), "Content-Type": "application/x-www-form-urlencoded"}
    async with httpx.AsyncClient(timeout=10) as http:
        ack = await http.post(f"{replica.url}/slack/events", content=body, headers=headers)
    assert ack.status_code == 200, ack.text
    key = url.rsplit("/", 1)[1]
    await standin.wait_until(lambda: bool(standin.posts_to_response(key)), within=20)
    [reply] = standin.posts_to_response(key)
    assert "Watching" in str(reply.body), reply.body


async def watch_in_store(store: Store, sim: PipecatSimulator, channel_id: str, agent: str) -> Watch:
    """What `AlertService.watch` does, through the store: seed polling from now, then the watch."""
    now = datetime.now(UTC)
    active = [s.session_id.lower() for s in sim.agent(agent).sessions.values() if s.active and s.raw is None]
    await store.seed_poll_state(agent, now, active)
    watch, _ = await store.upsert_watch(channel_id, agent, ["HTTP_ERROR"], None, USER, now)
    return watch


def fail_sessions(sim: PipecatSimulator, agents: Sequence[str], count: int, start: int = 0) -> dict[str, list[str]]:
    """`count` sessions ending in HTTP_ERROR, round-robin over `agents`; returns agent → ids."""
    made: dict[str, list[str]] = {agent: [] for agent in agents}
    for n in range(start, start + count):
        agent = agents[n % len(agents)]
        made[agent].append(sim.add_session(agent, "HTTP_ERROR", duration_seconds=5).lower())
    return made


def merge(into: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for agent, ids in more.items():
        into.setdefault(agent, []).extend(ids)


# -- what "exactly once" means -------------------------------------------------------------------


def ours(standin: SlackStandIn) -> list[StoredMessage]:
    """Every message the app posted with its metadata, top-level and replies, in every channel."""
    return [
        m
        for channel in standin.channels.values()
        for m in channel.messages
        if m.ephemeral_for is None and isinstance(m.metadata, dict) and m.metadata.get("event_type") == EVENT_TYPE
    ]


def dedup_key(message: StoredMessage) -> str:
    assert message.metadata is not None
    return str(message.metadata["event_payload"]["dedup_key"])


async def outbox(store: Store) -> list[dict[str, Any]]:
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(alert_outbox).order_by(alert_outbox.c.id))).mappings().all()
    return [dict(r) for r in rows]


async def settled(store: Store, expected_keys: Iterable[str]) -> bool:
    """Every expected alert is finished (sent, or rolled up into a sent roll-up), nothing is still
    deliverable, and every incident has its parent posted."""
    rows = await outbox(store)
    by_key = {r["dedup_key"]: r for r in rows}
    by_id = {r["id"]: r for r in rows}
    for key in expected_keys:
        row = by_key.get(key)
        if row is None:
            return False
        if row["state"] == OutboxState.ROLLED_UP:
            rollup = by_id.get(row["rollup_id"])
            if rollup is None or rollup["state"] != OutboxState.SENT:
                return False
        elif row["state"] != OutboxState.SENT:
            return False
    if any(r["state"] in DELIVERABLE for r in rows):
        return False
    async with store.engine.connect() as conn:
        unposted = await conn.scalar(select(func.count()).select_from(incidents).where(incidents.c.parent_ts.is_(None)))
    return not unposted


async def wait_settled(store: Store, expected_keys: Iterable[str], *, within: float) -> None:
    keys = list(expected_keys)
    await eventually(lambda: settled(store, keys), within=within, what=f"all {len(keys)} alerts delivered")


async def expected_alerts(store: Store, failed: dict[str, list[str]]) -> dict[str, tuple[Watch, str]]:
    """dedup key → (watch, session) for every watch of every agent that had failed sessions."""
    expected: dict[str, tuple[Watch, str]] = {}
    for agent, sids in failed.items():
        for watch in await store_reads.watches_for_agent(store, agent):
            for sid in sids:
                expected[f"{watch.id}:{sid}"] = (watch, sid)
    return expected


async def assert_each_represented_exactly_once(
    store: Store, standin: SlackStandIn, expected: dict[str, tuple[Watch, str]]
) -> dict[str, int]:
    """A (watch, session) pair is *represented* in Slack when either
      (a) its outbox row was sent as a thread reply: exactly one message in the watch's channel
          carries metadata dedup_key "<watch id>:<session id>", under its incident's parent; or
      (b) its outbox row is `rolled_up` into a roll-up row that was sent: exactly one message in the
          channel carries the roll-up's dedup key, and the roll-up's payload (which the message
          renders: a count, and the first ROLLUP_LIST_MAX ids) lists the session;
    and *exactly once* when it is one of those, in one place only: no session is both a reply and
    rolled up, none is in two roll-ups, and no dedup key is on two Slack messages. Slack holds
    nothing unrecorded either: every message with our metadata is an outbox row marked sent with
    that message's ts (parents, replies, roll-ups and notices alike).

    Returns counts by how pairs were represented (for the report).
    """
    messages = ours(standin)
    keys: dict[str, list[StoredMessage]] = {}
    for message in messages:
        keys.setdefault(dedup_key(message), []).append(message)
    duplicates = {k: [m.ts for m in ms] for k, ms in keys.items() if len(ms) > 1}
    assert not duplicates, f"dedup keys posted more than once: {duplicates}"

    rows = await outbox(store)
    by_key = {r["dedup_key"]: r for r in rows}
    by_id = {r["id"]: r for r in rows}
    for key, [message] in keys.items():
        row = by_key.get(key)
        assert row is not None, f"a message in Slack has no outbox row: {key}"
        assert row["state"] == OutboxState.SENT and row["posted_ts"] == message.ts, (
            f"unrecorded post {key}: {row['state']}"
        )
        assert row["channel_id"] == message.channel

    counts = {"reply": 0, "rollup": 0}
    places: dict[tuple[int, str], list[str]] = {}
    for row in rows:
        if row["kind"] == OutboxKind.ALERT and row["state"] == OutboxState.SENT:
            places.setdefault((row["subscription_id"], row["session_id"]), []).append(f"reply {row['dedup_key']}")
        if row["kind"] == OutboxKind.ROLLUP and row["state"] == OutboxState.SENT:
            for item in row["payload"]["sessions"]:
                rolled = (row["subscription_id"], str(item["session_id"]).lower())
                places.setdefault(rolled, []).append(f"roll-up {row['dedup_key']}")
    for key, (watch, sid) in expected.items():
        row = by_key.get(key)
        assert row is not None, f"lost: no outbox row for {key} ({watch.agent} in {watch.channel_id})"
        where = places.get((watch.id, sid), [])
        assert len(where) == 1, f"{key} is represented {len(where)} times: {where}"
        if row["state"] == OutboxState.SENT:
            [message] = keys[key]
            assert message.channel == watch.channel_id and message.is_reply, f"{key} is not a thread reply"
            counts["reply"] += 1
        else:
            assert row["state"] == OutboxState.ROLLED_UP, f"{key} ended {row['state']}: {row['last_error']}"
            rollup = by_id[row["rollup_id"]]
            [message] = keys[rollup["dedup_key"]]
            sessions = [str(s["session_id"]).lower() for s in rollup["payload"]["sessions"]]
            assert sid in sessions and message.channel == watch.channel_id and message.is_reply
            assert rollup["payload"]["count"] == len(sessions)
            assert message.text.startswith(f"{len(sessions)} more {watch.agent} session"), message.text
            listed = [s.lower() for s in _LISTED_ID.findall(str(message.blocks))]
            assert listed == sessions[: len(listed)] and len(listed) == min(20, len(sessions))
            counts["rollup"] += 1
    finished = (OutboxState.SENT, OutboxState.ROLLED_UP)
    unexpected = {k for k, r in by_key.items() if r["kind"] == OutboxKind.ALERT and r["state"] in finished} - set(
        expected
    )
    assert not unexpected, f"alerts for sessions that should not alert: {sorted(unexpected)[:5]}"
    counts["parents"] = sum(1 for r in rows if r["kind"] == OutboxKind.PARENT and r["state"] == OutboxState.SENT)
    counts["notices"] = sum(1 for r in rows if r["kind"] == OutboxKind.NOTICE and r["state"] == OutboxState.SENT)
    counts["slack_messages"] = len(messages)
    return counts


def notices_in(standin: SlackStandIn, kind: str) -> dict[str, list[StoredMessage]]:
    """Outage ("outage") or recovery ("recovery") notices by watch id."""
    found: dict[str, list[StoredMessage]] = {}
    for message in ours(standin):
        key = dedup_key(message)
        if key.startswith(f"{kind}:"):
            found.setdefault(key.split(":")[1], []).append(message)
    return found


async def outages_notified(store: Store, agents: Iterable[str]) -> bool:
    wanted = set(agents)
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(poll_state.c.agent, poll_state.c.outage_notified))).all()
    return wanted <= {agent for agent, notified in rows if notified}


async def lease_owner(store: Store, channel_id: str) -> str | None:
    from bot.store.schema import channel_state

    async with store.engine.connect() as conn:
        return await conn.scalar(select(channel_state.c.lease_owner).where(channel_state.c.channel_id == channel_id))


def post_times(standin: SlackStandIn) -> dict[str, list[tuple[float, int | None, int | str | None]]]:
    """Per channel: (arrival time, HTTP status, Retry-After) of every chat.postMessage, in order."""
    times: dict[str, list[tuple[float, int | None, int | str | None]]] = {}
    for call in standin.calls_to("chat.postMessage"):
        times.setdefault(str(call.args.get("channel")), []).append((call.at, call.status, call.retry_after))
    for entries in times.values():
        entries.sort()
    return times
