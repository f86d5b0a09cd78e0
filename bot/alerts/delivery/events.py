"""An outbox row's end, told to the pipeline's observer: the "alerts sent / given up" count."""

from __future__ import annotations

from bot.ops.events import PipelineEvents
from bot.store.records import OutboxKind, OutboxRow, OutboxState


def note_end(events: PipelineEvents, row: OutboxRow, state: OutboxState | None) -> None:
    """Call after the row's new state was written: a per-session alert that was sent or given up
    counts once (parents, roll-ups, notices and pages are not alerts)."""
    if row.kind == OutboxKind.ALERT and state in (OutboxState.SENT, OutboxState.DEAD):
        events.alert_finished(sent=state == OutboxState.SENT)
