"""`/session stats <agent> [1h|24h|7d]`: the numbers from bot.stats as one compact message."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import (
    CONTEXT_LIMIT,
    FIELD_LIMIT,
    HEADER_LIMIT,
    NOT_REPORTED,
    SECTION_LIMIT,
    esc,
    human_bytes,
    human_duration,
    percent,
    truncate,
)
from bot.blocks.message import Message, build, fallback
from bot.stats import SessionStats

MAX_STATUS_LINES = 15  # open-ended statuses: keep the most common, summarise the tail


def _field(label: str, value: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=truncate(f"*{label}*\n{value}", FIELD_LIMIT))


def _pair(p50: str, p95: str) -> str:
    return NOT_REPORTED if p50 == p95 == NOT_REPORTED else f"{p50} / {p95}"


def _fields(stats: SessionStats) -> list[MarkdownTextObject]:
    rate = NOT_REPORTED if stats.error_rate is None else (
        f"{percent(stats.error_rate)} ({stats.errors} of {stats.ended} ended)"
    )
    cold = NOT_REPORTED if stats.cold_start_share is None else (
        f"{percent(stats.cold_start_share)} ({stats.cold_starts} of {stats.cold_start_reported} reporting)"
    )
    duration = _pair(human_duration(stats.duration_p50), human_duration(stats.duration_p95))
    bot_start = _pair(human_duration(stats.bot_start_p50), human_duration(stats.bot_start_p95))
    return [
        _field("Sessions", f"{stats.count} ({stats.active} active)"),
        _field("Error rate", rate),
        _field("Duration p50 / p95", duration),
        _field("Bot start p50 / p95", bot_start),
        _field("Cold starts", cold),
        _field("Peak memory p95", human_bytes(stats.peak_memory_p95)),
    ]


def _statuses(stats: SessionStats) -> SectionBlock | None:
    if not stats.by_status:
        return None
    ranked = sorted(stats.by_status.items(), key=lambda kv: (-kv[1], kv[0]))
    lines = [f"`{esc(status, 100)}` {n}" for status, n in ranked[:MAX_STATUS_LINES]]
    if len(ranked) > MAX_STATUS_LINES:
        rest = sum(n for _, n in ranked[MAX_STATUS_LINES:])
        lines.append(f"…{len(ranked) - MAX_STATUS_LINES} more statuses, {rest} sessions")
    text = truncate("*By status*\n" + "\n".join(lines), SECTION_LIMIT)
    return SectionBlock(text=MarkdownTextObject(text=text))


def stats_message(agent: str, stats: SessionStats, *, window_label: str) -> Message:
    title = f"Stats · last {window_label}"
    header = f"{truncate(agent, HEADER_LIMIT - len(title) - 3)} · {title}"
    blocks: list[Block] = [HeaderBlock(text=truncate(header, HEADER_LIMIT))]
    if stats.count == 0:
        empty = f"No sessions of *{esc(agent, 200)}* in the last {esc(window_label, 50)}."
        blocks.append(SectionBlock(text=MarkdownTextObject(text=empty)))
    else:
        blocks.append(SectionBlock(fields=_fields(stats)))
        statuses = _statuses(stats)
        if statuses is not None:
            blocks.append(statuses)
    notes = ["Percentiles are nearest-rank; error rate counts ended sessions only."]
    if stats.peak_memory_reported == 0 and stats.count:
        notes.append("Session lists carry no resource metrics, so peak memory is not reported.")
    if stats.capped:
        notes.insert(0, f"⚠️ Capped at {stats.count} sessions: older sessions in the window were not counted.")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(" ".join(notes), CONTEXT_LIMIT))]))
    rate = "" if stats.error_rate is None else f", {percent(stats.error_rate)} errors"
    return build(fallback(f"{agent}: {stats.count} sessions in the last {window_label}{rate}"), blocks)
