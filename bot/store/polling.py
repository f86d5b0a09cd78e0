"""Per-agent poll state, the poll lease, seen sessions, and the poll's one recording transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import LeaseLost, StoreBase, to_poll_state
from bot.store.records import EndedSession, NewPost, PollState
from bot.store.schema import poll_state, seen_sessions


class PollStore(StoreBase):
    async def poll_state(self, agent: str) -> PollState | None:
        async with self._read() as conn:
            row = (await conn.execute(select(poll_state).where(poll_state.c.agent == agent))).mappings().first()
        return to_poll_state(row) if row else None

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
                            or_(
                                poll_state.c.lease_owner.is_(None),
                                poll_state.c.lease_owner == owner,
                                poll_state.c.lease_expires_at < now,
                            ),
                        )
                        .values(lease_owner=owner, lease_expires_at=now + ttl)
                        .returning(*poll_state.c)
                    )
                )
                .mappings()
                .first()
            )
        return to_poll_state(row) if row else None

    async def release_poll_lease(self, agent: str, owner: str) -> None:
        async with self._write() as conn:
            await conn.execute(
                update(poll_state)
                .where(poll_state.c.agent == agent, poll_state.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

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
        watermark: datetime,
        active_set: Sequence[str],
        ended: Sequence[EndedSession],
        recovery_posts: Sequence[NewPost] = (),
        now: datetime,
        release_lease: bool = False,
    ) -> int:
        """One transaction: mark ended sessions seen, enqueue posts for the ones this call inserted,
        advance the watermark, replace the active set, and end an outage. Returns posts enqueued.

        Raises LeaseLost (and writes nothing) if another worker took the agent's lease meanwhile.
        """
        enqueued = 0
        async with self._write() as conn:
            if recovery_posts:
                ended_outage = await conn.execute(
                    update(poll_state)
                    .where(
                        poll_state.c.agent == agent,
                        poll_state.c.lease_owner == owner,
                        poll_state.c.outage_notified.is_(True),
                    )
                    .values(outage_notified=False)
                )
                if ended_outage.rowcount:
                    enqueued += await self.insert_posts(conn, recovery_posts, now)
            updated = await conn.execute(
                update(poll_state)
                .where(poll_state.c.agent == agent, poll_state.c.lease_owner == owner)
                .values(
                    watermark=watermark,
                    active_set=sorted(active_set),
                    failures=0,
                    outage_since=None,
                    outage_notified=False,
                    last_error=None,
                    polled_at=now,
                    **({"lease_owner": None, "lease_expires_at": None} if release_lease else {}),
                )
            )
            if updated.rowcount != 1:
                raise LeaseLost(f"poll lease of {agent} lost")
            inserted = await self._insert_seen(conn, agent, [e.session_id for e in ended], now)
            for item in ended:
                if item.session_id in inserted:
                    # Only the transaction that inserted the seen row enqueues: never twice.
                    enqueued += await self.insert_posts(conn, item.posts, now)
        return enqueued

    async def _insert_seen(self, conn: AsyncConnection, agent: str, ids: Sequence[str], now: datetime) -> set[str]:
        if not ids:
            return set()
        result = await conn.execute(
            self.insert_ignore(seen_sessions, ["agent", "session_id"]).returning(seen_sessions.c.session_id),
            [{"agent": agent, "session_id": sid, "seen_at": now} for sid in dict.fromkeys(ids)],
        )
        return set(result.scalars())

    async def record_poll_failure(self, agent: str, owner: str, error: str, now: datetime) -> PollState | None:
        """Count a failed poll; the watermark stays where it was so nothing is skipped."""
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
                )
            )
            row = (await conn.execute(select(poll_state).where(poll_state.c.agent == agent))).mappings().one()
        return to_poll_state(row)

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
        """Forget sessions seen before `before` (far older than any poll overlap)."""
        async with self._write() as conn:
            result = await conn.execute(delete(seen_sessions).where(seen_sessions.c.seen_at < before))
        return result.rowcount
