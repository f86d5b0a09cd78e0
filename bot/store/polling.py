"""Per-agent poll state, the poll lease, seen sessions, and the poll's one recording transaction."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.contracts.views import AgentPoll
from bot.pipecat.models import Session
from bot.store.base import LeaseLost, StoreBase, chunked, from_row, lease_takeable
from bot.store.records import EndedSession, ItemFailure, Mute, NewPost, PollState, Watch
from bot.store.schema import mutes, poll_item_failures, poll_replicas, poll_state, seen_sessions, subscriptions


@dataclass
class RecordPlan:
    """What one poll records, decided from the watches and mutes read inside its transaction."""

    watermark: datetime | None = None
    active_set: Sequence[str] = ()
    ended: list[EndedSession] = field(default_factory=list)
    #: Enqueued only if this transaction ends a notified failure streak.
    recovery_posts: list[NewPost] = field(default_factory=list)
    #: Enqueued as they are (their dedup keys make them once-only).
    notices: list[NewPost] = field(default_factory=list)
    #: Sessions whose processing failed: upserted (still retried, or given up).
    item_failures: list[ItemFailure] = field(default_factory=list)
    #: Sessions that failed before and went through now: forgotten.
    resolved_items: list[str] = field(default_factory=list)
    backfill_until: datetime | None = None
    backfill_from: datetime | None = None
    #: Rates (bot/store/rates.py): every session the poll listed (counted as started once), the
    #: ended ones (counted once, when this transaction records them seen), and the statuses that
    #: make an ended session failed (the agent's watches').
    rate_started: list[Session] = field(default_factory=list)
    rate_ended: list[Session] = field(default_factory=list)
    rate_statuses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class IdlePoll:
    """A poll that saw no session end and ends no failure streak: only its watermark and active
    set move (recorded in batches, see `record_idle_polls`)."""

    agent: str
    watermark: datetime
    active_set: frozenset[str]


#: A replica counts as polling while its last cycle began within this many intervals.
REPLICA_LIVE_INTERVALS = 2.5


async def _note_replica(conn: AsyncConnection, upsert: Any, now: datetime, live_for: timedelta) -> int:
    """Write the replica's heartbeat (`upsert`), forget replicas not seen for `live_for`; how many
    poll now."""
    await conn.execute(delete(poll_replicas).where(poll_replicas.c.seen_at < now - live_for))
    await conn.execute(upsert)
    return int((await conn.execute(select(func.count()).select_from(poll_replicas))).scalar_one())


async def _oldest_claimed(
    store: PollStore,
    conn: AsyncConnection,
    agents: Sequence[str],
    owner: str,
    now: datetime,
    claimed_before: datetime,
    limit: int,
) -> list[str]:
    """Up to `limit` takeable agents among `agents` not claimed since `claimed_before`, longest
    ago first (never claimed: first of all). On PostgreSQL their rows stay locked until commit and
    rows another replica is claiming are skipped, so concurrent cycles take disjoint shares."""
    query: Select[tuple[str]] = (
        select(poll_state.c.agent)
        .where(
            poll_state.c.agent.in_(list(dict.fromkeys(agents))),
            lease_takeable(poll_state, owner, now),
            or_(poll_state.c.claimed_at.is_(None), poll_state.c.claimed_at <= claimed_before),
        )
        .order_by(poll_state.c.claimed_at.asc().nulls_first(), poll_state.c.agent)
        .limit(limit)
    )
    return list((await conn.execute(store.skip_locked(query))).scalars())


#: Builds the plan from the agent's watches and the live mutes (keyed by channel and agent).
Planner = Callable[[Sequence[Watch], Mapping[tuple[str, str], Mute]], RecordPlan]


class PollStore(StoreBase):
    async def poll_state(self, agent: str) -> PollState | None:
        async with self._read() as conn:
            row = (await conn.execute(select(poll_state).where(poll_state.c.agent == agent))).mappings().first()
        return from_row(PollState, row) if row else None

    async def agent_polls(self) -> tuple[AgentPoll, ...]:
        async with self._read() as conn:
            return await watched_polls(conn)

    async def seed_poll_state(self, agent: str, watermark: datetime, active_set: Sequence[str]) -> bool:
        """Start polling `agent` from `watermark`; False (and no change) if it is already polled."""
        async with self._write() as conn:
            result = await conn.execute(
                self.insert_ignore(poll_state, ["agent"])
                .values(
                    agent=agent,
                    watermark=watermark,
                    active_set=sorted(active_set),
                    failures=0,
                    outage_notified=False,
                )
                .returning(poll_state.c.agent)
            )
            return result.first() is not None

    async def claim_poll(self, agent: str, owner: str, now: datetime, ttl: timedelta) -> PollState | None:
        """Take the lease (free, expired or ours) and read the state in one statement."""
        async with self._write() as conn:
            row = (
                (
                    await conn.execute(
                        update(poll_state)
                        .where(
                            poll_state.c.agent == agent,
                            lease_takeable(poll_state, owner, now),
                        )
                        .values(lease_owner=owner, lease_expires_at=now + ttl)
                        .returning(*poll_state.c)
                    )
                )
                .mappings()
                .first()
            )
        return from_row(PollState, row) if row else None

    async def claim_polls(
        self, agents: Sequence[str], owner: str, now: datetime, ttl: timedelta, *, interval: timedelta
    ) -> dict[str, PollState]:
        """A cycle's start, in one transaction: note `owner` as a polling replica, then take the
        leases (free, expired or ours) of its agents among `agents`, by agent.

        Alone, a replica takes them all. With R replicas polling (each seen within
        REPLICA_LIVE_INTERVALS), each cycle takes at most a 1/R share, the ones claimed longest
        ago, and none claimed in the last half interval: every agent is polled once per interval
        across the replicas, and the work splits evenly. The others are another replica's, or
        unseeded (see `unpolled`)."""
        async with self._write() as conn:
            heartbeat = self.upsert(poll_replicas, ["replica_id"], {"replica_id": owner, "seen_at": now}, ["seen_at"])
            replicas = await _note_replica(conn, heartbeat, now, interval * REPLICA_LIVE_INTERVALS)
            if replicas <= 1:
                chosen: list[list[str]] | None = None
            else:
                share = -(-len(agents) // replicas)
                chosen = [await _oldest_claimed(self, conn, agents, owner, now, now - interval / 2, share)]
            claimed: dict[str, PollState] = {}
            for chunk in chosen if chosen is not None else chunked(agents):
                if not chunk:
                    continue
                rows = await conn.execute(
                    update(poll_state)
                    .where(poll_state.c.agent.in_(chunk), lease_takeable(poll_state, owner, now))
                    .values(lease_owner=owner, lease_expires_at=now + ttl, claimed_at=now)
                    .returning(*poll_state.c)
                )
                claimed.update((r["agent"], from_row(PollState, r)) for r in rows.mappings())
        return claimed

    async def leave_polling(self, owner: str) -> None:
        """A replica that stops: the others take its share from their next cycle on."""
        async with self._write() as conn:
            await conn.execute(delete(poll_replicas).where(poll_replicas.c.replica_id == owner))

    async def unpolled(self, agents: Sequence[str]) -> set[str]:
        """The agents among `agents` that have no poll state yet (their watch's seeding failed)."""
        if not agents:
            return set()  # the usual cycle: every agent was claimed, nothing to read
        found: set[str] = set()
        async with self._read() as conn:
            for chunk in chunked(agents):
                query = select(poll_state.c.agent).where(poll_state.c.agent.in_(chunk))
                found.update((await conn.execute(query)).scalars())
        return set(agents) - found

    async def record_idle_polls(self, owner: str, polls: Sequence[IdlePoll], now: datetime) -> int:
        """Record many polls that found nothing to record (no session ended, no failure streak to
        end) in one transaction: advance each watermark, replace each active set, release each
        lease. A poll whose lease another worker took meanwhile writes nothing. Returns the number
        recorded."""
        if not polls:
            return 0
        statement = (
            update(poll_state)
            .where(poll_state.c.agent == bindparam("b_agent"), poll_state.c.lease_owner == owner)
            .values(
                watermark=bindparam("b_watermark"),
                active_set=bindparam("b_active_set"),
                polled_at=now,
                lease_owner=None,
                lease_expires_at=None,
            )
        )
        rows = [{"b_agent": p.agent, "b_watermark": p.watermark, "b_active_set": sorted(p.active_set)} for p in polls]
        async with self._write() as conn:
            result = await conn.execute(statement, rows)
        return max(result.rowcount, 0)

    async def release_poll_lease(self, agent: str, owner: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(poll_state)
                .where(poll_state.c.agent == agent, poll_state.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    async def sessions_seen(self, agent: str, since: datetime, until: datetime) -> int:
        """How many ended sessions of `agent` the polls recorded between `since` and `until`: the
        calls an incident's failures are a share of."""
        query = (
            select(func.count())
            .select_from(seen_sessions)
            .where(seen_sessions.c.agent == agent, seen_sessions.c.seen_at >= since, seen_sessions.c.seen_at <= until)
        )
        async with self._read() as conn:
            return int(await conn.scalar(query) or 0)

    async def unseen(self, agent: str, session_ids: Sequence[str]) -> set[str]:
        """The ids among `session_ids` not yet recorded as seen (saves detail fetches)."""
        if not session_ids:
            return set()
        query = select(seen_sessions.c.session_id).where(
            seen_sessions.c.agent == agent, seen_sessions.c.session_id.in_(list(session_ids))
        )
        async with self._read() as conn:
            seen = set((await conn.execute(query)).scalars())
        return set(session_ids) - seen

    async def record_poll(
        self,
        agent: str,
        owner: str,
        *,
        watermark: datetime | None = None,
        active_set: Sequence[str] = (),
        ended: Sequence[EndedSession] = (),
        recovery_posts: Sequence[NewPost] = (),
        planner: Planner | None = None,
        now: datetime,
        release_lease: bool = False,
    ) -> int:
        """One transaction: mark ended sessions seen, enqueue posts for the ones this call inserted,
        advance the watermark, replace the active set, and end an outage. Returns posts enqueued.

        Rates are counted here too (bot/store/rates.py `count_sessions`): the sessions the poll
        listed, once each, and the ended ones this transaction recorded as seen.

        With `planner`, the agent's watches and the live mutes are read inside this transaction,
        after the lease is confirmed, and the planner decides everything recorded (the other
        arguments are then unused): a watch created while the poll ran still hears about the
        sessions that ended after it was created.

        Raises LeaseLost (and writes nothing) if another worker took the agent's lease meanwhile.
        """
        enqueued = 0
        async with self._write() as conn:
            # Confirm the lease first (on PostgreSQL this also locks the agent's row until commit).
            notified = (
                (
                    await conn.execute(
                        update(poll_state)
                        .where(poll_state.c.agent == agent, poll_state.c.lease_owner == owner)
                        .values(polled_at=now)
                        .returning(poll_state.c.outage_notified)
                    )
                )
                .scalars()
                .first()
            )
            if notified is None:
                raise LeaseLost(f"poll lease of {agent} lost")
            if planner is not None:
                plan = planner(*await self._watches_and_mutes(conn, agent, now))
            else:
                plan = RecordPlan(watermark, active_set, list(ended), list(recovery_posts))
            await conn.execute(
                update(poll_state)
                .where(poll_state.c.agent == agent, poll_state.c.lease_owner == owner)
                .values(
                    **({"watermark": plan.watermark} if plan.watermark is not None else {}),
                    active_set=sorted(plan.active_set),
                    failures=0,
                    outage_since=None,
                    outage_notified=False,
                    last_error=None,
                    failure_kind=None,
                    backfill_until=plan.backfill_until,
                    backfill_from=plan.backfill_from,
                    **({"lease_owner": None, "lease_expires_at": None} if release_lease else {}),
                )
            )
            if notified and plan.recovery_posts:
                enqueued += await self.insert_posts(conn, plan.recovery_posts, now)
            inserted = await self._insert_seen(conn, agent, [e.session_id for e in plan.ended], now)
            # Only the transaction that inserted the seen row enqueues: never twice.
            posts = [post for item in plan.ended if item.session_id in inserted for post in item.posts]
            enqueued += await self.insert_posts(conn, [*posts, *plan.notices], now)
            if plan.rate_started or plan.rate_ended:
                newly_ended = [s for s in plan.rate_ended if s.session_id.lower() in inserted]
                await self.count_sessions(  # type: ignore[attr-defined]
                    conn, agent, plan.rate_started, newly_ended, plan.rate_statuses, now
                )
            await self._save_item_failures(conn, agent, plan.item_failures, plan.resolved_items, now)
        return enqueued

    async def _watches_and_mutes(
        self, conn: AsyncConnection, agent: str, now: datetime
    ) -> tuple[list[Watch], dict[tuple[str, str], Mute]]:
        watch_rows = await conn.execute(
            select(subscriptions).where(subscriptions.c.agent == agent).order_by(subscriptions.c.id)
        )
        mute_rows = await conn.execute(select(mutes).where(mutes.c.agent == agent, mutes.c.until > now))
        live = {(r["channel_id"], r["agent"]): from_row(Mute, r) for r in mute_rows.mappings()}
        return [from_row(Watch, r) for r in watch_rows.mappings()], live

    async def _save_item_failures(
        self,
        conn: AsyncConnection,
        agent: str,
        failures: Sequence[ItemFailure],
        resolved: Sequence[str],
        now: datetime,
    ) -> None:
        ids = sorted({f.session_id for f in failures} | set(resolved))
        if ids:
            await conn.execute(
                delete(poll_item_failures).where(
                    poll_item_failures.c.agent == agent, poll_item_failures.c.session_id.in_(ids)
                )
            )
        for failure in failures:
            await conn.execute(
                poll_item_failures.insert().values(
                    agent=agent,
                    session_id=failure.session_id,
                    attempts=failure.attempts,
                    error=failure.error[:500],
                    session_created_at=failure.session_created_at,
                    first_failed_at=failure.first_failed_at or now,
                    last_failed_at=now,
                    gave_up_at=failure.gave_up_at,
                )
            )

    async def item_failures_of(self, agents: Sequence[str]) -> dict[str, dict[str, ItemFailure]]:
        """`item_failures` for many agents in one read (a cycle's start); agents without any are left out."""
        found: dict[str, dict[str, ItemFailure]] = {}
        async with self._read() as conn:
            for chunk in chunked(agents):
                query = select(poll_item_failures).where(poll_item_failures.c.agent.in_(chunk))
                for r in (await conn.execute(query)).mappings():
                    found.setdefault(r["agent"], {})[r["session_id"]] = from_row(ItemFailure, r)
        return found

    async def _insert_seen(self, conn: AsyncConnection, agent: str, ids: Sequence[str], now: datetime) -> set[str]:
        if not ids:
            return set()
        result = await conn.execute(
            self.insert_ignore(seen_sessions, ["agent", "session_id"]).returning(seen_sessions.c.session_id),
            [{"agent": agent, "session_id": sid, "seen_at": now} for sid in dict.fromkeys(ids)],
        )
        return set(result.scalars())

    async def record_poll_failure(
        self, agent: str, owner: str, error: str, now: datetime, kind: str | None = None
    ) -> PollState | None:
        """Count a failed poll (of `kind`, see records.FAILURE_*); the watermark stays where it was
        so nothing is skipped."""
        async with self._write() as conn:
            current = (await conn.execute(select(poll_state).where(poll_state.c.agent == agent))).mappings().first()
            if current is None:
                return None
            await conn.execute(
                update(poll_state)
                .where(poll_state.c.agent == agent, poll_state.c.lease_owner == owner)
                .values(
                    failures=poll_state.c.failures + 1,
                    outage_since=current["outage_since"] or now,
                    last_error=error[:500],
                    polled_at=now,
                    **({"failure_kind": kind} if kind else {}),
                )
            )
            row = (await conn.execute(select(poll_state).where(poll_state.c.agent == agent))).mappings().one()
        return from_row(PollState, row)

    async def enqueue_outage_notices(self, agent: str, posts: Sequence[NewPost], now: datetime) -> int:
        """Flip the agent's outage to notified and enqueue its notices; only the flipper enqueues."""
        async with self._write() as conn:
            flipped = await conn.execute(
                update(poll_state)
                .where(
                    poll_state.c.agent == agent,
                    poll_state.c.outage_notified.is_(False),
                    poll_state.c.outage_since.is_not(None),
                )
                .values(outage_notified=True)
            )
            if flipped.rowcount != 1:
                return 0
            return await self.insert_posts(conn, posts, now)

    async def prune_seen(self, before: datetime) -> int:
        """Forget sessions seen before `before` (far older than any poll overlap), and the errors
        of sessions given up before it."""
        async with self._write() as conn:
            result = await conn.execute(delete(seen_sessions).where(seen_sessions.c.seen_at < before))
            await conn.execute(delete(poll_item_failures).where(poll_item_failures.c.gave_up_at < before))
        return result.rowcount


async def watched_polls(conn: AsyncConnection) -> tuple[AgentPoll, ...]:
    """The poll state of every watched agent (the App Home, /healthz), in the caller's transaction."""
    watched = select(subscriptions.c.agent).distinct().scalar_subquery()
    query = select(poll_state).where(poll_state.c.agent.in_(watched)).order_by(poll_state.c.agent)
    found = []
    for r in (await conn.execute(query)).mappings():
        found.append(AgentPoll(r["agent"], r["watermark"], int(r["failures"] or 0), r["last_error"]))
    return tuple(found)
