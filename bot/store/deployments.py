"""Explanations, part two: the deployments seen on sessions, and their failure rates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import or_, select, update

from bot.store.base import StoreBase, from_row
from bot.store.records import DeploymentSeen, DeployRate, DeployRates
from bot.store.schema import deploy_rates, deployments, incidents


class DeploymentStore(StoreBase):
    # -- replies to edit -----------------------------------------------------------------------------

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
        seen = [from_row(DeploymentSeen, r) for r in rows]
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
