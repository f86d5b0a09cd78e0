"""The door every command, shortcut and button passes: the access policy, then the audit trail."""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.access.audit_writer import AuditWriter
from bot.access.policy import refusal
from bot.access.ports import AuditLog
from bot.clock import Clock
from bot.config import AccessLists
from bot.contracts.actions import interaction_kind
from bot.ops.events import PipelineEvents
from bot.store.audit import AuditEntry

logger = logging.getLogger(__name__)

REFUSED = "refused"


class Gate:
    def __init__(
        self, lists: AccessLists, audit: AuditLog, clock: Clock, retention: timedelta, events: PipelineEvents
    ) -> None:
        self._lists = lists
        self._events = events
        self._audit = audit
        self._writer = AuditWriter(audit)
        self._clock = clock
        self._retention = retention

    def refusal(self, *, user_id: str, channel_id: str, action: str) -> str | None:
        """Pure and cheap (it runs on the ack path); `record(result="refused")` logs the refusal."""
        return refusal(self._lists, user_id=user_id, channel_id=channel_id, action=action)

    async def record(self, *, user_id: str, channel_id: str, action: str, detail: str, result: str) -> None:
        """Audit one use; a failing audit write is logged, never allowed to break the user's answer."""
        self._events.interaction(kind=interaction_kind(action), action=action, result=result)
        if result == REFUSED:
            logger.warning("refused %s for user %s in %s", action, user_id, channel_id)
        entry = AuditEntry(self._clock.now(), user_id, channel_id, action, detail, result)
        try:
            await self._writer.write(entry)
        except Exception:  # broad: an audit write must never cost the user their answer
            logger.exception("could not write the audit entry for %s", action)

    async def prune(self) -> int:
        return await self._audit.prune_audit(self._clock.now() - self._retention)
