"""A failed session's cause where it is looked up: the lookup summary, Details, Refresh and
`/session list … errors`.

The cause cache (bot/store/causes.py) is read first. A lookup of one failed session whose cause
is not final yet reads its log once, bounded by `wait_seconds` and the client's log bounds
(bot/pipecat/client.py `session_log`), and writes what it found to the same cache, so the poller
and the next lookup do not read it again; a reply waiting for that cause is queued for its edit.
A list shows only what the cache already has (a log read per line would cost a list its speed).

A final cause (found, or "no error in its log") never changes (a session's first final answer
wins, bot/store/causes.py `record_causes`), so the last FINAL_CAUSES_KEPT of them are also kept in
memory: during an incident the same failed sessions are looked up again and again, and each of
those lookups then costs no database read.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence

from bot.blocks.triage import NO_ERROR, UNREADABLE, ReplyCause
from bot.clock import Clock
from bot.explain.explainer import cause_entry
from bot.explain.ports import LookupStore
from bot.pipecat.client import PipecatClient
from bot.pipecat.errors import PipecatError
from bot.pipecat.models import Session
from bot.store.records import CAUSE_FOUND, CAUSE_NONE, SessionCause

logger = logging.getLogger(__name__)

_FINAL = frozenset({CAUSE_FOUND, CAUSE_NONE})
#: Final causes kept in memory by the lookups, newest used last (a few hundred bytes each).
FINAL_CAUSES_KEPT = 2000


class LookupCauses:
    def __init__(self, *, store: LookupStore, pipecat: PipecatClient, clock: Clock, wait_seconds: float) -> None:
        self._store = store
        self._pipecat = pipecat
        self._clock = clock
        self._wait = wait_seconds
        self._final: OrderedDict[tuple[str, str], SessionCause] = OrderedDict()

    async def known(self, agent: str, sessions: Sequence[Session]) -> dict[str, SessionCause]:
        """The cached causes of the failed ones among `sessions`, by lower-case id (no reads)."""
        failed = [s.session_id for s in sessions if s.failed]
        return await self._store.session_causes(agent, failed) if failed else {}

    async def cause_of(self, agent: str, session: Session) -> SessionCause | None:
        """The session's cause: cached, or read now (once, bounded) and cached. None for a session
        that did not fail, or whose log could not be read in time (nothing is cached then)."""
        if not session.failed:
            return None
        sid = session.session_id.lower()
        if (known := self._final.get((agent, sid))) is not None:
            self._final.move_to_end((agent, sid))
            return known
        cached = await self._cached(agent, sid)
        if cached is not None and cached.state in _FINAL:
            return cached
        try:
            log = await asyncio.wait_for(self._pipecat.session_log(agent, sid), timeout=self._wait)
        except (PipecatError, TimeoutError) as error:
            logger.info("lookup of %s session %s: its log was not read (%s)", agent, sid, type(error).__name__)
            return cached
        now = self._clock.now()
        resolved = await self._store.record_causes(agent, [cause_entry(agent, session, log.texts)], now)
        if resolved:
            await self._store.queue_reply_edits(agent, resolved, now)
        return await self._cached(agent, sid)

    async def _cached(self, agent: str, sid: str) -> SessionCause | None:
        cause = (await self._store.session_causes(agent, [sid])).get(sid)
        if cause is not None and cause.state in _FINAL:
            self._final[(agent, sid)] = cause
            if len(self._final) > FINAL_CAUSES_KEPT:
                self._final.popitem(last=False)
        return cause


def shown_cause(session: Session, cause: SessionCause | None) -> ReplyCause | None:
    """What a summary says about a failed session's cause: the quote, "no error in its log", or
    that the log was not read (yet); nothing for a session that did not fail."""
    if not session.failed:
        return None
    if cause is None or cause.state not in _FINAL:
        return ReplyCause(note=UNREADABLE)
    if cause.state == CAUSE_FOUND and cause.quote:
        return ReplyCause(quote=cause.quote)
    return ReplyCause(note=NO_ERROR)


def cause_lines(causes: Mapping[str, SessionCause]) -> dict[str, str]:
    """One line per known cause, by session id: its label (or first quoted line), or "no error
    in its log"; pending and skipped ones say nothing."""
    lines: dict[str, str] = {}
    for sid, cause in causes.items():
        if cause.state == CAUSE_FOUND:
            text = cause.label or (cause.quote[0] if cause.quote else "")
            if text:
                lines[sid] = text
        elif cause.state == CAUSE_NONE:
            lines[sid] = NO_ERROR
    return lines
