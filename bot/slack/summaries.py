"""A session summary with its cause, for every surface that shows one (the lookup, the shortcut,
Details and Refresh): the cause comes from the cache, or one bounded read (bot/explain/lookup.py)."""

from __future__ import annotations

import logging

from bot.blocks.message import Message
from bot.blocks.session import session_summary
from bot.deps import Deps
from bot.explain.lookup import shown_cause
from bot.pipecat.models import Session
from bot.store.records import SessionCause

logger = logging.getLogger(__name__)


async def summary_with_cause(deps: Deps, agent: str, session: Session) -> Message:
    cause: SessionCause | None = None
    try:
        cause = await deps.lookup_causes.cause_of(agent, session)
    except Exception:  # the cause is extra: a database hiccup must not cost the lookup its answer
        logger.exception("the cause of %s session %s could not be read", agent, session.session_id)
    return session_summary(agent, session, now=deps.clock.now(), cause=shown_cause(session, cause))
