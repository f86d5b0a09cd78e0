"""Explanations, part two: deployments, their failure rates, and replies to edit when a late cause lands."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update

from bot.store.base import StoreBase, from_row
from bot.store.records import DEAD, KIND_ALERT, MUTED, ROLLED_UP, DeploymentSeen, DeployRate, DeployRates, OutboxRow
from bot.store.schema import alert_outbox, deploy_rates, deployments, incidents, reply_edits


class DeploymentStore(StoreBase):
    # -- replies to edit -----------------------------------------------------------------------------

    async def queue_reply_edits(self, agent: str, session_ids: Sequence[str], now: datetime) -> int:
        """Every live reply of these sessions gets re-rendered (its cause arrived after it)."""
        if not session_ids:
            return 0
        query = select(alert_outbox.c.dedup_key, alert_outbox.c.channel_id, alert_outbox.c.incident_id).where(
            alert_outbox.c.agent == agent,
            alert_outbox.c.kind == KIND_ALERT,
            alert_outbox.c.session_id.in_(list(session_ids)),
            alert_outbox.c.state.not_in((DEAD, MUTED, ROLLED_UP)),  # replies that can still be shown
        )
        async with self._write() as conn:
            rows = (await conn.execute(query)).all()
            for row in rows:
                await conn.execute(
                    self.insert_ignore(reply_edits, ["dedup_key"]).values(
                        dedup_key=row.dedup_key, channel_id=row.channel_id, created_at=now
                    )
                )
            touched = sorted({row.incident_id for row in rows if row.incident_id is not None})
            if touched:  # the parents' top causes changed too
                await conn.execute(
                    update(incidents).where(incidents.c.id.in_(touched)).values(version=incidents.c.version + 1)
                )
        return len(rows)

    async def reply_edits(self, channel_id: str) -> list[str]:
        query = (
            select(reply_edits.c.dedup_key)
            .where(reply_edits.c.channel_id == channel_id)
            .order_by(reply_edits.c.created_at)
        )
        async with self._read() as conn:
            return list((await conn.execute(query)).scalars())

    async def drop_reply_edit(self, dedup_key: str) -> None:
        async with self._write() as conn:
            await conn.execute(delete(reply_edits).where(reply_edits.c.dedup_key == dedup_key))

    # -- deployments ---------------------------------------------------------------------------------

    async def note_deployments(self, agent: str, first_seen: Mapping[str, datetime]) -> None:
        """Deployments seen on sessions; the first sighting is kept."""
        if not first_seen:
            return
        async with self._write() as conn:
            for deployment_id, seen_at in first_seen.items():
                await conn.execute(
                    self.insert_ignore(deployments, ["agent", "deployment_id"]).values(
                        agent=agent, deployment_id=deployment_id, first_seen_at=seen_at
                    )
                )
                await conn.execute(
                    update(deployments)
                    .where(
                        deployments.c.agent == agent,
                        deployments.c.deployment_id == deployment_id,
                        deployments.c.first_seen_at > seen_at,
                    )
                    .values(first_seen_at=seen_at)
                )

    async def set_deployment_live(self, agent: str, deployment_id: str, went_live_at: datetime) -> bool:
        """When a deployment went live, from the agent's status (its revision's phaseStartedAt or the
        deployment's createdAt): better than the first session the app saw on it. True when that
        changed what the app knew (the agent's open parents are then re-rendered)."""
        async with self._write() as conn:
            await conn.execute(
                self.insert_ignore(deployments, ["agent", "deployment_id"]).values(
                    agent=agent, deployment_id=deployment_id, first_seen_at=went_live_at
                )
            )
            changed = await conn.execute(
                update(deployments)
                .where(
                    deployments.c.agent == agent,
                    deployments.c.deployment_id == deployment_id,
                    or_(deployments.c.went_live_at.is_(None), deployments.c.went_live_at != went_live_at),
                )
                .values(went_live_at=went_live_at)
            )
            if changed.rowcount:
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.agent == agent, incidents.c.closed_at.is_(None))
                    .values(version=incidents.c.version + 1)
                )
        return bool(changed.rowcount)

    async def set_deployment_replaced(self, agent: str, deployment_id: str, replaced: str, seen_at: datetime) -> bool:
        """The deployment `deployment_id` replaced, from the agent's status (`previousRevision`).
        True when that changed what the app knew (the agent's open parents are then re-rendered)."""
        async with self._write() as conn:
            await conn.execute(
                self.insert_ignore(deployments, ["agent", "deployment_id"]).values(
                    agent=agent, deployment_id=deployment_id, first_seen_at=seen_at
                )
            )
            changed = await conn.execute(
                update(deployments)
                .where(
                    deployments.c.agent == agent,
                    deployments.c.deployment_id == deployment_id,
                    or_(
                        deployments.c.replaced_deployment_id.is_(None),
                        deployments.c.replaced_deployment_id != replaced,
                    ),
                )
                .values(replaced_deployment_id=replaced)
            )
            if changed.rowcount:
                await conn.execute(
                    update(incidents)
                    .where(incidents.c.agent == agent, incidents.c.closed_at.is_(None))
                    .values(version=incidents.c.version + 1)
                )
        return bool(changed.rowcount)

    async def deployments_of(self, agent: str) -> list[DeploymentSeen]:
        """Oldest first by when each went live."""
        query = select(deployments).where(deployments.c.agent == agent)
        async with self._read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        seen = [
            DeploymentSeen(r["deployment_id"], r["first_seen_at"], r["went_live_at"], r["replaced_deployment_id"])
            for r in rows
        ]
        return sorted(seen, key=lambda d: (d.live_since, d.deployment_id))

    async def save_deploy_rates(self, agent: str, rates: DeployRates) -> None:
        values = {
            "computed_at": rates.computed_at,
            "window_seconds": rates.window_seconds,
            "rates": [
                {"deployment_id": r.deployment_id, "sessions": r.sessions, "failures": r.failures} for r in rates.rates
            ],
        }
        async with self._write() as conn:
            await conn.execute(self.insert_ignore(deploy_rates, ["agent"]).values(agent=agent, **values))
            await conn.execute(update(deploy_rates).where(deploy_rates.c.agent == agent).values(**values))
            # The agent's open incidents show the rates: their parents are re-rendered.
            await conn.execute(
                update(incidents)
                .where(incidents.c.agent == agent, incidents.c.closed_at.is_(None))
                .values(version=incidents.c.version + 1)
            )

    async def deploy_rates_of(self, agent: str) -> DeployRates | None:
        async with self._read() as conn:
            row = (await conn.execute(select(deploy_rates).where(deploy_rates.c.agent == agent))).mappings().first()
        if row is None:
            return None
        rates = tuple(DeployRate(str(r["deployment_id"]), int(r["sessions"]), int(r["failures"])) for r in row["rates"])
        return DeployRates(row["computed_at"], row["window_seconds"], rates)

    async def outbox_row_by_key(self, dedup_key: str) -> OutboxRow | None:
        async with self._read() as conn:
            row = (
                (await conn.execute(select(alert_outbox).where(alert_outbox.c.dedup_key == dedup_key)))
                .mappings()
                .first()
            )
        return from_row(OutboxRow, row) if row else None
