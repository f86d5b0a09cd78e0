"""Audit entries written by group commit: each command's entry is durable before its `write`
returns, and entries that arrive while a write is in flight go together in the next transaction.

A burst of 50 commands then costs a few transactions, not 50 (a transaction's begin and commit
were most of an audit write's CPU), and nothing waits longer than one transaction more than it
would have alone."""

from __future__ import annotations

import asyncio

from bot.access.ports import AuditLog
from bot.store.audit import AuditEntry


class AuditWriter:
    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit
        self._waiting: list[tuple[AuditEntry, asyncio.Future[None]]] = []
        #: The task committing batches while entries keep coming (a writer's cancellation, at
        #: shutdown say, never strands the entries that queued behind it).
        self._drain: asyncio.Task[None] | None = None

    async def write(self, entry: AuditEntry) -> None:
        """Returns once `entry` is committed; raises what its transaction raised."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry, done))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_task(self._commit_waiting())
        await done

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            await self._commit(batch)

    async def _commit(self, batch: list[tuple[AuditEntry, asyncio.Future[None]]]) -> None:
        try:
            await self._audit.record_audits([entry for entry, _ in batch])
        except Exception as error:  # noqa: BLE001 - handed to each writer; its caller (the Gate) logs it with the traceback
            for _, done in batch:
                if not done.done():
                    done.set_exception(error)
        else:
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
