"""Explanations: the per-session cause cache, fingerprints, deployments and their failure rates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Select, and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import StoreBase, chunked
from bot.store.records import (
    CAUSE_FOUND,
    CAUSE_NONE,
    CAUSE_PENDING,
    CAUSE_SKIPPED,
    IncidentRef,
    NewCause,
    SessionCause,
)
from bot.store.schema import (
    fingerprints,
    session_causes,
)

#: States a later read may replace (a found or empty log is final: the cache is per session); a
#: skipped one (a burst's roll-up member) is read when a lookup asks for it (bot/explain/lookup.py).
_OPEN_STATES = (CAUSE_PENDING, CAUSE_SKIPPED)
_FINAL_STATES = (CAUSE_FOUND, CAUSE_NONE)


def _answer(cause: NewCause, now: datetime) -> dict[str, Any]:
    """The columns a read fills in."""
    return {
        "state": cause.state,
        "fingerprint": cause.fingerprint,
        "quote": "\n".join(cause.quote) or None,
        "read_at": now if cause.state in _FINAL_STATES else None,
    }


def _waves(causes: Sequence[NewCause]) -> list[list[NewCause]]:
    """`causes` in order, split so that no session appears twice in one wave: each wave is
    written in one go, and a repeat sees what the wave before it wrote."""
    waves: list[list[NewCause]] = []
    repeats: Counter[str] = Counter()
    for cause in causes:
        n = repeats[cause.session_id]
        repeats[cause.session_id] += 1
        if n == len(waves):
            waves.append([])
        waves[n].append(cause)
    return waves


def cause_row(row: RowMapping) -> SessionCause:
    quote = row["quote"]
    return SessionCause(
        agent=row["agent"],
        session_id=row["session_id"],
        state=row["state"],
        failed_at=row["failed_at"],
        deployment_id=row["deployment_id"],
        fingerprint=row["fingerprint"],
        label=row.get("label"),
        quote=tuple(quote.split("\n")) if quote else (),
        attempts=row["attempts"],
    )


def labelled_causes() -> Select[Any]:
    """Cause rows with their fingerprint's label (None where the cause has no fingerprint row):
    the one join every reader of the cache uses, so `cause_row` always finds `label`."""
    return select(session_causes, fingerprints.c.label).outerjoin(
        fingerprints,
        and_(
            fingerprints.c.agent == session_causes.c.agent,
            fingerprints.c.fingerprint == session_causes.c.fingerprint,
        ),
    )


def incident_ref(row: RowMapping | None) -> IncidentRef | None:
    if row is None:
        return None
    return IncidentRef(row["id"], row["channel_id"], row["parent_ts"], row["opened_at"])


class CauseStore(StoreBase):
    # -- the cache ---------------------------------------------------------------------------------

    async def record_causes(self, agent: str, causes: Sequence[NewCause], now: datetime) -> list[str]:
        """Store what each failure's log said. A session's first final answer wins (found/none are
        never replaced); a found cause counts once towards its fingerprint. Returns the session
        ids whose cause became final here after having been pending (their replies need an edit).

        A storm records hundreds at once: one read of their states and one statement per kind of
        write, not a round trip per session (a session listed twice is applied in order)."""
        resolved: list[str] = []
        async with self._write() as conn:
            for wave in _waves(causes):
                resolved += await self._record_wave(conn, agent, wave, now)
        return resolved

    async def _record_wave(
        self, conn: AsyncConnection, agent: str, wave: Sequence[NewCause], now: datetime
    ) -> list[str]:
        existing: dict[str, str] = {}
        for chunk in chunked([c.session_id for c in wave]):
            rows = await conn.execute(
                select(session_causes.c.session_id, session_causes.c.state).where(
                    session_causes.c.agent == agent, session_causes.c.session_id.in_(chunk)
                )
            )
            existing.update({row.session_id: row.state for row in rows})
        new = [c for c in wave if c.session_id not in existing]
        reread = [c for c in wave if existing.get(c.session_id) in _OPEN_STATES]
        if new:
            await conn.execute(
                session_causes.insert(),
                [
                    {
                        "agent": agent,
                        "session_id": c.session_id,
                        "deployment_id": c.deployment_id,
                        "failed_at": c.failed_at,
                        "attempts": 0 if c.state == CAUSE_PENDING else 1,
                        "created_at": now,
                        **_answer(c, now),
                    }
                    for c in new
                ],
            )
        if reread:
            await conn.execute(
                update(session_causes)
                .where(session_causes.c.agent == agent, session_causes.c.session_id == bindparam("sid"))
                .values(
                    attempts=session_causes.c.attempts + 1,
                    state=bindparam("new_state"),
                    fingerprint=bindparam("new_fingerprint"),
                    quote=bindparam("new_quote"),
                    read_at=bindparam("new_read_at"),
                ),
                [{"sid": c.session_id, **{f"new_{k}": v for k, v in _answer(c, now).items()}} for c in reread],
            )
        for cause in [*new, *reread]:
            if cause.state == CAUSE_FOUND and cause.fingerprint and cause.label:
                await self._count(conn, agent, cause, cause.fingerprint, cause.label)
        return [c.session_id for c in reread if c.state in _FINAL_STATES]

    async def _count(self, conn: AsyncConnection, agent: str, cause: NewCause, fp: str, label: str) -> None:
        key = and_(fingerprints.c.agent == agent, fingerprints.c.fingerprint == fp)
        row = (await conn.execute(select(fingerprints).where(key))).mappings().first()
        if row is None:
            await conn.execute(
                fingerprints.insert().values(
                    agent=agent,
                    fingerprint=fp,
                    label=label,
                    first_seen_at=cause.failed_at,
                    last_seen_at=cause.failed_at,
                    count=1,
                    example_session_id=cause.session_id,
                )
            )
            return
        newer = cause.failed_at >= row["last_seen_at"]
        await conn.execute(
            update(fingerprints)
            .where(key)
            .values(
                count=fingerprints.c.count + 1,
                first_seen_at=min(row["first_seen_at"], cause.failed_at),
                last_seen_at=cause.failed_at if newer else row["last_seen_at"],
                example_session_id=cause.session_id if newer else row["example_session_id"],
            )
        )

    async def note_failed_read(self, agent: str, session_id: str) -> None:
        """A read that failed or timed out: it stays pending, one attempt spent."""
        key = and_(session_causes.c.agent == agent, session_causes.c.session_id == session_id)
        async with self._write() as conn:
            await conn.execute(
                update(session_causes)
                .where(key, session_causes.c.state == CAUSE_PENDING)
                .values(attempts=session_causes.c.attempts + 1)
            )

    async def session_causes(self, agent: str, session_ids: Iterable[str]) -> dict[str, SessionCause]:
        ids = sorted({s.lower() for s in session_ids})
        if not ids:
            return {}
        query = labelled_causes().where(session_causes.c.agent == agent, session_causes.c.session_id.in_(ids))
        async with self._read() as conn:
            return {r["session_id"]: cause_row(r) for r in (await conn.execute(query)).mappings()}

    async def pending_causes(self, agent: str, max_attempts: int, limit: int) -> list[SessionCause]:
        query = (
            select(session_causes)
            .where(
                session_causes.c.agent == agent,
                session_causes.c.state == CAUSE_PENDING,
                session_causes.c.attempts < max_attempts,
            )
            .order_by(session_causes.c.failed_at)
            .limit(limit)
        )
        async with self._read() as conn:
            return [cause_row(r) for r in (await conn.execute(query)).mappings()]

    async def prune_causes(self, before: datetime) -> int:
        """Forget cached causes of sessions that failed before `before` (their fingerprints stay)."""
        async with self._write() as conn:
            result = await conn.execute(delete(session_causes).where(session_causes.c.failed_at < before))
        return result.rowcount

    async def agents_with_pending_causes(self, max_attempts: int) -> list[str]:
        query = (
            select(session_causes.c.agent)
            .where(session_causes.c.state == CAUSE_PENDING, session_causes.c.attempts < max_attempts)
            .distinct()
        )
        async with self._read() as conn:
            return sorted((await conn.execute(query)).scalars())
