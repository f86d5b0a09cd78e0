"""Explanations, the fingerprints side: which causes an incident's failures had, whether each was
seen before, and the agent's causes ranked over a window."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.base import StoreBase
from bot.store.causes import cause_row, incident_ref, labelled_causes
from bot.store.records import CAUSE_FOUND, CauseStat, IncidentRef, OutboxKind, OutboxState, SessionCause
from bot.store.schema import alert_outbox, fingerprint_incidents, fingerprints, incidents, session_causes


class FingerprintStore(StoreBase):
    # -- incidents -----------------------------------------------------------------------------------

    async def incident_failures(self, incident_id: int, agent: str) -> list[SessionCause]:
        """The cause entry of every failure routed to the incident (replies and roll-up members)."""
        sessions = select(alert_outbox.c.session_id).where(
            alert_outbox.c.incident_id == incident_id,
            alert_outbox.c.kind == OutboxKind.ALERT,
            alert_outbox.c.state != OutboxState.DEAD,
        )
        query = (
            labelled_causes()
            .where(session_causes.c.agent == agent, session_causes.c.session_id.in_(sessions))
            .order_by(session_causes.c.failed_at)
        )
        async with self._read() as conn:
            return [cause_row(r) for r in (await conn.execute(query)).mappings()]

    async def link_incident_causes(
        self, agent: str, incident_id: int, channel_id: str, fps: Sequence[str], now: datetime
    ) -> None:
        """Record that these causes appeared in the incident (idempotent)."""
        if not fps:
            return
        async with self._write() as conn:
            for fp in fps:
                await conn.execute(
                    self.insert_ignore(fingerprint_incidents, ["agent", "fingerprint", "incident_id"]).values(
                        agent=agent, fingerprint=fp, incident_id=incident_id, channel_id=channel_id, linked_at=now
                    )
                )
            await conn.execute(
                update(fingerprints)
                .where(
                    fingerprints.c.agent == agent,
                    fingerprints.c.fingerprint.in_(list(fps)),
                    func.coalesce(fingerprints.c.last_incident_id, 0) < incident_id,
                )
                .values(last_incident_id=incident_id)
            )

    async def cause_stats(
        self, agent: str, fps: Sequence[str], *, before_incident: int | None = None
    ) -> dict[str, CauseStat]:
        """Each fingerprint's row, its last incident and (with `before_incident`) the latest earlier one."""
        if not fps:
            return {}
        async with self._read() as conn:
            rows = (
                (
                    await conn.execute(
                        select(fingerprints).where(
                            fingerprints.c.agent == agent, fingerprints.c.fingerprint.in_(list(fps))
                        )
                    )
                )
                .mappings()
                .all()
            )
            found: dict[str, CauseStat] = {}
            for row in rows:
                earlier = None
                if before_incident is not None:
                    earlier = await _earlier_incident(conn, agent, row["fingerprint"], before_incident)
                last = await _incident_by_id(conn, row["last_incident_id"])
                found[row["fingerprint"]] = _stat(row, last=last, earlier=earlier)
        return found

    async def top_causes(self, agent: str, since: datetime, limit: int) -> list[CauseStat]:
        """The agent's causes by how many failures had them since `since` (for /session causes)."""
        recent = (
            select(session_causes.c.fingerprint, func.count().label("n"))
            .where(
                session_causes.c.agent == agent,
                session_causes.c.state == CAUSE_FOUND,
                session_causes.c.failed_at >= since,
            )
            .group_by(session_causes.c.fingerprint)
            .subquery()
        )
        query = (
            select(fingerprints, recent.c.n)
            .join(recent, recent.c.fingerprint == fingerprints.c.fingerprint)
            .where(fingerprints.c.agent == agent)
            .order_by(recent.c.n.desc(), fingerprints.c.last_seen_at.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
            return [
                _stat(row, occurrences=row["n"], last=await _incident_by_id(conn, row["last_incident_id"]))
                for row in rows
            ]


def _stat(
    row: RowMapping, *, occurrences: int = 0, last: IncidentRef | None = None, earlier: IncidentRef | None = None
) -> CauseStat:
    return CauseStat(
        fingerprint=row["fingerprint"],
        label=row["label"],
        count=row["count"],
        first_seen_at=row["first_seen_at"],
        last_seen_at=row["last_seen_at"],
        example_session_id=row["example_session_id"],
        occurrences=occurrences,
        last_incident=last,
        earlier_incident=earlier,
    )


async def _incident_by_id(conn: AsyncConnection, incident_id: int | None) -> IncidentRef | None:
    if incident_id is None:
        return None
    return incident_ref((await conn.execute(select(incidents).where(incidents.c.id == incident_id))).mappings().first())


async def _earlier_incident(conn: AsyncConnection, agent: str, fp: str, before: int) -> IncidentRef | None:
    query = (
        select(incidents)
        .join(fingerprint_incidents, fingerprint_incidents.c.incident_id == incidents.c.id)
        .where(
            fingerprint_incidents.c.agent == agent,
            fingerprint_incidents.c.fingerprint == fp,
            fingerprint_incidents.c.incident_id < before,
        )
        .order_by(incidents.c.id.desc())
        .limit(1)
    )
    return incident_ref((await conn.execute(query)).mappings().first())
