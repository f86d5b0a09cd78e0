"""The channels' daily digest settings (`/session digest`; bot/alerts/digest.py posts them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from bot.store.base import StoreBase, from_row
from bot.store.schema import digest_settings


@dataclass(frozen=True)
class DigestSetting:
    channel_id: str
    hour: int
    minute: int
    enabled_at: datetime | None = None


class DigestStore(StoreBase):
    async def set_digest(self, channel_id: str, hour: int, minute: int, user_id: str, now: datetime) -> None:
        async with self._write() as conn:
            await conn.execute(delete(digest_settings).where(digest_settings.c.channel_id == channel_id))
            await conn.execute(
                digest_settings.insert().values(
                    channel_id=channel_id, hour=hour, minute=minute, enabled_by=user_id, enabled_at=now
                )
            )

    async def clear_digest(self, channel_id: str) -> bool:
        async with self._write() as conn:
            result = await conn.execute(delete(digest_settings).where(digest_settings.c.channel_id == channel_id))
        return bool(result.rowcount)

    async def digests(self) -> Sequence[DigestSetting]:
        async with self._read() as conn:
            rows = (await conn.execute(select(digest_settings).order_by(digest_settings.c.channel_id))).mappings()
            return [from_row(DigestSetting, r) for r in rows]
