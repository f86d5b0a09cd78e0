"""The daily digest (`/session digest on [HH:MM]`): per channel, once a day.

Exactly once per channel per day, across replicas and restarts: the digest is an outbox row whose
dedup key names the channel and the day (`digest_dedup_key`), so a second replica's insert, or a
restarted one's, is ignored and delivery posts it once. Pipecat cost is bounded: a replica first
checks that the day's row is not there yet, and reads at most DIGEST_SESSION_CAP sessions (two
days' worth, one listing) per watched agent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.alerts.ports import DigestServiceStore
from bot.alerts.rates.view import slo_line
from bot.clock import Clock
from bot.contracts.keys import digest_dedup_key
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import PipecatError
from bot.pipecat.models import Session
from bot.stats import compute_stats
from bot.store.digests import DigestSetting
from bot.store.payloads import DigestPayload
from bot.store.records import NewPost, OutboxKind

logger = logging.getLogger(__name__)

DAY = timedelta(days=1)
#: Sessions read per agent for one digest (today's and yesterday's, one listing).
DIGEST_SESSION_CAP = 2000
#: Failed sessions listed per agent, each with a Details button.
WORST_SESSIONS = 3
TOP_CAUSES = 3
#: Nothing older than this is back-filled after downtime: a digest is about the day just ended.
LATE_LIMIT = timedelta(hours=12)


def due_day(setting: DigestSetting, now: datetime) -> date | None:
    """The day whose digest is due at `now`, or None. Pure.

    Due from the day's HH:MM (UTC) until LATE_LIMIT after it; never for a time before the digest
    was turned on (turning it on at 10:00 with a 09:00 time starts tomorrow).
    """
    now = now.astimezone(UTC)
    at = datetime.combine(now.date(), time(setting.hour, setting.minute), tzinfo=UTC)
    if at > now:
        at -= DAY  # still before today's time: yesterday's may be due (a restart just after midnight)
    if now - at > LATE_LIMIT or (setting.enabled_at is not None and setting.enabled_at > at):
        return None
    return at.date()


#: Where a session that says neither when it started nor ended sorts: last.
EARLIEST = datetime.min.replace(tzinfo=UTC)


def _at(session: Session) -> datetime | None:
    """Where a session falls in the digest's days: its start, else its end (the spec leaves
    createdAt optional)."""
    return session.created_at or session.ended_at


def worst(sessions: Sequence[Session]) -> list[dict[str, Any]]:
    """Failed sessions first (newest first), then the slowest starts; at most WORST_SESSIONS."""
    ended = [s for s in sessions if not s.is_active]
    failed = sorted((s for s in ended if s.failed), key=lambda s: _at(s) or EARLIEST, reverse=True)
    picked = failed[:WORST_SESSIONS]
    return [
        {
            "session_id": s.session_id.lower(),
            "status": s.completion_status or s.end_state or "unknown",
            "bot_start_seconds": s.bot_start_seconds,
            "created_at": s.created_at.isoformat() if s.created_at else None,
        }
        for s in picked
    ]


def agent_summary(agent: str, sessions: Sequence[Session], window_end: datetime, capped: bool) -> dict[str, Any]:
    """One agent's digest numbers over [end − 1 day, end), compared with the day before. Pure.

    Failures are failed sessions as bot.contracts.outcomes defines them, the same count `/session
    stats` and the badges show, whatever statuses the channel's watch alerts on."""
    placed = [(s, at) for s in sessions if (at := _at(s)) is not None]
    today = [s for s, at in placed if window_end - DAY <= at < window_end]
    yesterday = [s for s, at in placed if window_end - 2 * DAY <= at < window_end - DAY]
    now_stats = compute_stats(today, window=DAY, capped=capped)
    before = compute_stats(yesterday, window=DAY, capped=capped)
    failures = sum(s.failed for s in today)
    before_failures = sum(s.failed for s in yesterday)
    rate = failures / now_stats.ended if now_stats.ended else None
    before_rate = before_failures / before.ended if before.ended else None
    return {
        "agent": agent,
        "count": now_stats.count,
        "ended": now_stats.ended,
        "by_status": now_stats.by_status,
        "failures": failures,
        "error_rate": rate,
        "prev_error_rate": before_rate,
        "bot_start_p95": now_stats.bot_start_p95,
        "cold_start_share": now_stats.cold_start_share,
        "capped": capped,
        "worst": worst(today),
        "causes": None,
        "slo": None,
    }


class DigestService:
    def __init__(self, *, store: DigestServiceStore, pipecat: PipecatClient, clock: Clock) -> None:
        self._store = store
        self._pipecat = pipecat
        self._clock = clock

    async def turn_on(self, channel_id: str, at: time, user_id: str) -> None:
        await self._store.set_digest(channel_id, at.hour, at.minute, user_id, self._clock.now())

    async def turn_off(self, channel_id: str) -> bool:
        return await self._store.clear_digest(channel_id)

    async def run_due(self) -> int:
        """Enqueue every digest due now that no replica enqueued yet; returns how many this one did."""
        now = self._clock.now()
        enqueued = 0
        for setting in await self._store.digests():
            day = due_day(setting, now)
            if day is None:
                continue
            key = digest_dedup_key(setting.channel_id, day)
            if await self._store.outbox_has(key):
                continue  # already enqueued (here, by another replica, or before a restart)
            try:
                payload = await self.build(setting, day)
            except Exception:  # broad: one channel's digest must not stop the others
                logger.exception("could not build the digest of %s for %s", setting.channel_id, day)
                continue
            post = NewPost(
                dedup_key=key,
                kind=OutboxKind.DIGEST,
                channel_id=setting.channel_id,
                agent="",
                payload=DigestPayload.model_validate(payload),
            )
            enqueued += await self._store.enqueue([post], now)
        return enqueued

    async def build(self, setting: DigestSetting, day: date) -> dict[str, Any]:
        end = datetime.combine(day, time(setting.hour, setting.minute), tzinfo=UTC)
        watches = [
            w for ws in (await self._store.all_watches()).values() for w in ws if w.channel_id == setting.channel_id
        ]
        agents = []
        for watch in sorted(watches, key=lambda w: w.agent):
            agents.append(await self._agent(watch.agent, end))
        return {"day": day.isoformat(), "window_end": end.isoformat(), "agents": agents}

    async def _agent(self, agent: str, end: datetime) -> dict[str, Any]:
        sessions: list[Session] = []
        start = int((end - 2 * DAY).timestamp())
        try:
            async for session in self._pipecat.iter_sessions(
                agent, status="all", start_time=start, end_time=int(end.timestamp()) - 1
            ):
                sessions.append(session)
                if len(sessions) >= DIGEST_SESSION_CAP:
                    break
        except PipecatError as error:
            return {"agent": agent, "unreachable": error.user_message}
        summary = agent_summary(agent, sessions, end, capped=len(sessions) >= DIGEST_SESSION_CAP)
        summary["causes"] = await self._causes(agent, end)
        summary["slo"] = await self._slo(agent, end)
        return summary

    async def _slo(self, agent: str, end: datetime) -> dict[str, Any] | None:
        """The SLO budget left as of the digest's end, as the App Home and `/session rates` show
        it (from the rate counts: no Pipecat call); None without an SLO."""
        state = await self._store.rate_state(agent)
        line = await slo_line(self._store, state, end) if state is not None else None
        return line.to_json() if line is not None else None

    async def _causes(self, agent: str, end: datetime) -> list[dict[str, Any]]:
        """The day's most frequent failure causes (fingerprints of the sessions' own logs)."""
        found = await self._store.top_causes(agent, end - DAY, TOP_CAUSES)
        return [{"text": c.label, "count": c.occurrences, "example": c.example_session_id} for c in found]
