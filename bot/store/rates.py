"""Rates: per-minute counts of each agent's sessions, the sessions counted as started, the rate
detectors' state and each agent's SLO (bot/rates).

Counting happens inside the poll's recording transaction (bot/store/polling.py `record_poll`),
after its lease is confirmed (on PostgreSQL the agent's poll_state row stays locked until commit),
so one agent's counts are written by one transaction at a time. A session is counted as started
when this transaction inserted its rate_started row, and as ended when it inserted its
seen_sessions row: replicas and restarts never count it twice.

Minutes older than COUNT_RETENTION are folded into hourly counts (rate_hours) by the transaction
that deletes them (`prune_rates`): a minute is counted in one of the two tables, never both, and
totals over a window add up both (`rate_totals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.pipecat.models import Session
from bot.rates.counts import Counts, Minute, hour_of, tally
from bot.store.agent_health import ConditionAck, touch_openers
from bot.store.base import StoreBase, chunked, from_row
from bot.store.outbox import open_alert_post
from bot.store.payloads import RatePayload
from bot.store.records import NewPost, OutboxKind, OutboxRow
from bot.store.schema import alert_outbox, rate_acks, rate_counts, rate_hours, rate_started, rate_state

#: The rate memory's usual failures per hour (written by bot/alerts/rates/watch.py).
FAILURES_PER_HOUR = "failures_per_hour"


@dataclass(frozen=True)
class RateState:
    agent: str
    version: int
    memory: dict[str, Any]
    observed_since: datetime
    evaluated_at: datetime | None
    slo_target: float | None
    slo_period: str | None
    counted_at: datetime | None = None

    @property
    def counted_since_evaluated(self) -> bool:
        return self.counted_at is not None and (self.evaluated_at is None or self.counted_at > self.evaluated_at)


class RateStore(StoreBase):
    async def count_sessions(
        self,
        conn: AsyncConnection,
        agent: str,
        started: Sequence[Session],
        ended: Sequence[Session],
        statuses: frozenset[str],
        now: datetime,
    ) -> None:
        """Inside the poll's transaction: count `started` sessions not counted before, and `ended`
        (the caller passes only the ones its transaction recorded as seen)."""
        await conn.execute(
            self.insert_ignore(rate_state, ["agent"]).values(agent=agent, version=0, memory={}, observed_since=now)
        )
        fresh: set[str] = set()
        ids = sorted({s.session_id.lower() for s in started})
        for chunk in chunked(ids):
            result = await conn.execute(
                self.insert_ignore(rate_started, ["agent", "session_id"]).returning(rate_started.c.session_id),
                [{"agent": agent, "session_id": sid, "seen_at": now} for sid in chunk],
            )
            fresh.update(result.scalars())
        counted = {s.session_id.lower(): s for s in started if s.session_id.lower() in fresh}
        found = tally(counted.values(), ended, statuses)
        if not found:
            return
        await conn.execute(update(rate_state).where(rate_state.c.agent == agent).values(counted_at=now))
        minutes = sorted({minute for minute, _ in found})
        existing = {
            (r["minute"], r["deployment"]): Counts.from_row(dict(r))
            for r in (
                await conn.execute(
                    select(rate_counts).where(rate_counts.c.agent == agent, rate_counts.c.minute.in_(minutes))
                )
            ).mappings()
        }
        for key, counts in sorted(found.items()):
            minute, deployment = key
            before = existing.get(key)
            if before is None:
                await conn.execute(
                    rate_counts.insert().values(agent=agent, minute=minute, deployment=deployment, **counts.to_row())
                )
                continue
            before.add(counts)
            await conn.execute(
                update(rate_counts)
                .where(
                    rate_counts.c.agent == agent, rate_counts.c.minute == minute, rate_counts.c.deployment == deployment
                )
                .values(**before.to_row())
            )

    async def rate_minutes(self, agent: str, since: datetime, *, by_deployment: bool = False) -> list[Minute]:
        """The agent's minutes from `since` on, oldest first: added up over deployments, or one
        per deployment."""
        query = (
            select(rate_counts)
            .where(rate_counts.c.agent == agent, rate_counts.c.minute >= since)
            .order_by(rate_counts.c.minute)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        if by_deployment:
            return [Minute(r["minute"], Counts.from_row(dict(r)), r["deployment"]) for r in rows]
        merged: dict[datetime, Counts] = {}
        for r in rows:
            merged.setdefault(r["minute"], Counts()).add(Counts.from_row(dict(r)))
        return [Minute(minute, counts) for minute, counts in merged.items()]

    async def rate_totals(self, agent: str, windows: Mapping[str, tuple[datetime, datetime]]) -> dict[str, Counts]:
        """Started, ended and failed added up (in SQL) over each named [start, end): the minutes
        starting in it, and the hours (minutes older than COUNT_RETENTION, folded) starting in it."""
        found: dict[str, Counts] = {}
        async with self._read() as conn:
            for name, (start, end) in windows.items():
                parts = union_all(
                    select(rate_counts.c.started, rate_counts.c.ended, rate_counts.c.failed).where(
                        rate_counts.c.agent == agent, rate_counts.c.minute >= start, rate_counts.c.minute < end
                    ),
                    select(rate_hours.c.started, rate_hours.c.ended, rate_hours.c.failed).where(
                        rate_hours.c.agent == agent, rate_hours.c.hour >= start, rate_hours.c.hour < end
                    ),
                ).subquery()
                row = (
                    await conn.execute(
                        select(
                            func.coalesce(func.sum(parts.c.started), 0),
                            func.coalesce(func.sum(parts.c.ended), 0),
                            func.coalesce(func.sum(parts.c.failed), 0),
                        )
                    )
                ).one()
                found[name] = Counts(started=int(row[0]), ended=int(row[1]), failed=int(row[2]))
        return found

    async def rate_state(self, agent: str) -> RateState | None:
        async with self._read() as conn:
            row = (await conn.execute(select(rate_state).where(rate_state.c.agent == agent))).mappings().first()
        return _state(row) if row else None

    async def rate_states(self, agents: Sequence[str] | None = None) -> list[RateState]:
        """Every agent's rate state, or those of `agents` (agents never counted have none)."""
        query = select(rate_state).order_by(rate_state.c.agent)
        found: list[RateState] = []
        async with self._read() as conn:
            if agents is None:
                return [_state(r) for r in (await conn.execute(query)).mappings().all()]
            for chunk in chunked(list(agents)):
                rows = (await conn.execute(query.where(rate_state.c.agent.in_(chunk)))).mappings().all()
                found += [_state(r) for r in rows]
        return found

    async def save_rate_evaluation(
        self,
        agent: str,
        version: int,
        memory: Mapping[str, Any],
        now: datetime,
        *,
        posts: Sequence[NewPost] = (),
        touched: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> bool:
        """Store the detectors' memory if nobody stored another since `version` was read (compare
        and set), with this evaluation's posts and the changes to its open alerts' payloads (by
        opener key; each is re-rendered). False (and nothing written) when another replica won."""
        async with self._write() as conn:
            result = await conn.execute(
                update(rate_state)
                .where(rate_state.c.agent == agent, rate_state.c.version == version)
                .values(version=version + 1, memory=dict(memory), evaluated_at=now)
            )
            if result.rowcount != 1:
                return False
            await self.insert_posts(conn, posts, now)
            for changes, keys in _grouped(touched or {}):
                await touch_openers(self, conn, keys, changes, now)
        return True

    async def acknowledge_rate_alert(
        self, channel_id: str, ts: str, user_id: str, now: datetime
    ) -> ConditionAck | None:
        """Acknowledge the episode whose rate alert was posted at `ts` in the channel: who and when
        go into `rate_acks` (the record the PagerDuty mirror reads) and into every channel's post
        of the episode, each queued for its re-render. The first click wins, across replicas and
        channels (the row's insert decides): a later one changes nothing and gets who did, and
        when (`first` False). None when no open rate alert was posted there (unknown, or cleared)."""
        async with self._write() as conn:
            found = await _clicked_rate_alert(conn, channel_id, ts)
            if found is None:
                return None
            row, body = found
            key = str(body.episode.get("key") or "")
            inserted = (
                await conn.execute(
                    self.insert_ignore(rate_acks, ["agent", "episode_key", "opened_at"])
                    .values(agent=row.agent, episode_key=key, opened_at=body.opened_at, ack_by=user_id, ack_at=now)
                    .returning(rate_acks.c.ack_by)
                )
            ).first()
            if inserted is None:  # someone acknowledged it first (on this post or another channel's)
                first = (
                    await conn.execute(
                        select(rate_acks.c.ack_by, rate_acks.c.ack_at).where(*_episode(row.agent, key, body.opened_at))
                    )
                ).one()
                return ConditionAck(first.ack_by, first.ack_at, False)
            changes = {"acknowledged_by": user_id, "acknowledged_at": now.isoformat()}
            await touch_openers(self, conn, await _episode_openers(conn, row.agent, key, body.opened_at), changes, now)
        return ConditionAck(user_id, now, True)

    async def unacknowledge_rate_alert(self, channel_id: str, ts: str, now: datetime) -> bool:
        """Nobody is on the episode after all: its `rate_acks` row goes, and every channel's post
        of it loses who acknowledged it (each re-rendered). False when no open rate alert was
        posted there."""
        async with self._write() as conn:
            found = await _clicked_rate_alert(conn, channel_id, ts)
            if found is None:
                return False
            row, body = found
            key = str(body.episode.get("key") or "")
            await conn.execute(delete(rate_acks).where(*_episode(row.agent, key, body.opened_at)))
            changes = {"acknowledged_by": None, "acknowledged_at": None}
            await touch_openers(self, conn, await _episode_openers(conn, row.agent, key, body.opened_at), changes, now)
        return True

    async def rate_acknowledgements(self, agent: str) -> dict[tuple[str, datetime], tuple[str, datetime]]:
        """The agent's acknowledged episodes: (detector key, opened at) → (who, when)."""
        query = select(rate_acks).where(rate_acks.c.agent == agent)
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        return {(r.episode_key, r.opened_at): (r.ack_by, r.ack_at) for r in rows}

    # -- a busy agent's background: whether its failures are held for periodic roll-ups -------------

    async def busy_agents(self, agents: Sequence[str], min_failures_per_hour: float) -> set[str]:
        """The agents among `agents` that usually fail at least this often (their rate memory),
        and are not in a failure-rate episode (a regression is told by its rate alert, and its
        sessions keep their usual replies)."""
        if not agents:
            return set()
        query = select(rate_state.c.agent, rate_state.c.memory).where(rate_state.c.agent.in_(sorted(set(agents))))
        async with self._read() as conn:
            rows = (await conn.execute(query)).all()
        busy = set()
        for row in rows:
            memory = dict(row.memory or {})
            rate = memory.get(FAILURES_PER_HOUR)
            episodes = memory.get("episodes") or {}
            if isinstance(rate, int | float) and rate >= min_failures_per_hour and "failure-rate" not in episodes:
                busy.add(row.agent)
        return busy

    async def set_slo(self, agent: str, target: float | None, period: str | None, user_id: str, now: datetime) -> None:
        """Set (or with None, turn off) the agent's SLO."""
        async with self._write() as conn:
            await conn.execute(
                self.insert_ignore(rate_state, ["agent"]).values(agent=agent, version=0, memory={}, observed_since=now)
            )
            await conn.execute(
                update(rate_state)
                .where(rate_state.c.agent == agent)
                .values(slo_target=target, slo_period=period if target is not None else None, slo_set_by=user_id)
            )

    async def prune_rates(self, counts_before: datetime, started_before: datetime, hours_before: datetime) -> int:
        """Fold the minutes of whole hours before `counts_before` into hourly counts and delete them,
        in one transaction (the rows this DELETE removed are the ones it adds: a replica pruning at
        the same time, or a retry after a crash, never adds a minute twice); forget hours before
        `hours_before` and started sessions seen before `started_before`. Returns the minutes
        folded."""
        cut = hour_of(counts_before)
        async with self._write() as conn:
            gone = (
                await conn.execute(
                    delete(rate_counts)
                    .where(rate_counts.c.minute < cut)
                    .returning(
                        rate_counts.c.agent,
                        rate_counts.c.minute,
                        rate_counts.c.started,
                        rate_counts.c.ended,
                        rate_counts.c.failed,
                    )
                )
            ).all()
            hours: dict[tuple[str, datetime], Counts] = {}
            for row in gone:
                counts = hours.setdefault((row.agent, hour_of(row.minute)), Counts())
                counts.add(Counts(started=row.started, ended=row.ended, failed=row.failed))
            for (agent, hour), counts in sorted(hours.items()):
                statement = self._insert(rate_hours).values(
                    agent=agent, hour=hour, started=counts.started, ended=counts.ended, failed=counts.failed
                )
                await conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=["agent", "hour"],
                        set_={
                            "started": rate_hours.c.started + statement.excluded.started,
                            "ended": rate_hours.c.ended + statement.excluded.ended,
                            "failed": rate_hours.c.failed + statement.excluded.failed,
                        },
                    )
                )
            await conn.execute(delete(rate_hours).where(rate_hours.c.hour < hours_before))
            await conn.execute(delete(rate_started).where(rate_started.c.seen_at < started_before))
            await conn.execute(delete(rate_acks).where(rate_acks.c.opened_at < counts_before))
        return len(gone)


async def _clicked_rate_alert(conn: AsyncConnection, channel_id: str, ts: str) -> tuple[OutboxRow, RatePayload] | None:
    """The open rate alert posted at `ts` in the channel, or None (unknown, or cleared)."""
    return await open_alert_post(conn, channel_id, ts, OutboxKind.RATE, RatePayload, lock=False)


def _episode(agent: str, key: str, opened_at: datetime) -> list[Any]:
    return [rate_acks.c.agent == agent, rate_acks.c.episode_key == key, rate_acks.c.opened_at == opened_at]


async def _episode_openers(conn: AsyncConnection, agent: str, key: str, opened_at: datetime) -> list[str]:
    """Every channel's post of the episode (same agent, detector and opening moment), by dedup key."""
    query = select(alert_outbox).where(alert_outbox.c.agent == agent, alert_outbox.c.kind == OutboxKind.RATE)
    keys = []
    for mapping in (await conn.execute(query)).mappings():
        body = from_row(OutboxRow, mapping).body()
        if isinstance(body, RatePayload) and body.episode.get("key") == key and body.opened_at == opened_at:
            keys.append(str(mapping["dedup_key"]))
    return keys


def _grouped(touched: Mapping[str, Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], list[str]]]:
    return [(changes, [key]) for key, changes in sorted(touched.items())]


def _state(row: Any) -> RateState:
    return from_row(RateState, row)


__all__ = ["RateState", "RateStore"]
