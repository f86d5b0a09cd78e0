"""Agent health alerts: a condition opened (top-level post), the same post once it cleared (an
edit), and the recovery reply in its thread. Findings come from bot/alerts/health.py as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks.alerts import alert_metadata, notice_message
from bot.blocks.format import CONTEXT_LIMIT, SECTION_LIMIT, esc, slack_date, truncate
from bot.blocks.message import Message, build, fallback
from bot.blocks.quote import code_block

#: Emoji per severity (bot/alerts/health.py SEVERITY).
ICONS = {"critical": ":red_circle:", "error": ":large_orange_circle:", "warning": ":warning:"}


def _headline(finding: Mapping[str, Any]) -> str:
    return str(finding.get("title") or finding.get("kind") or "Health condition")


def _facts(finding: Mapping[str, Any]) -> str:
    return " · ".join(str(f) for f in finding.get("facts") or ())


def health_alert(
    agent: str, finding: Mapping[str, Any], severity: str, opened_at: datetime, dedup_key: str
) -> Message:
    """Condition opened: what, the facts, and health.message quoted like a failure cause (the
    finding's message is already masked and cut)."""
    title = _headline(finding)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(
            text=truncate(f"{ICONS.get(severity, ':warning:')} *{esc(agent, 100)}*: {esc(title, 500)}", SECTION_LIMIT)
        ))
    ]
    if message := finding.get("message"):
        blocks.append(SectionBlock(text=MarkdownTextObject(text=code_block(str(message)))))
    context = [f"Since {slack_date(opened_at)}"]
    if facts := _facts(finding):
        context.append(esc(facts, 800))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=truncate(" · ".join(context), CONTEXT_LIMIT))]))
    return build(fallback(f"{agent}: {title}"), blocks, metadata=alert_metadata(dedup_key, agent))


def health_resolved(
    agent: str, finding: Mapping[str, Any], opened_at: datetime, cleared_at: datetime, dedup_key: str
) -> Message:
    """The opening post, edited once the condition cleared: struck through, with how long it lasted."""
    title = _headline(finding)
    text = (
        f":white_check_mark: *{esc(agent, 100)}*: ~{esc(title, 500)}~\n"
        f"Resolved {slack_date(cleared_at)} (since {slack_date(opened_at)})"
    )
    return notice_message(f"Resolved: {agent}: {title}", text, dedup_key, agent)


def health_recovery(
    agent: str, finding: Mapping[str, Any], opened_at: datetime, cleared_at: datetime, now_facts: str, dedup_key: str
) -> Message:
    """The recovery reply in the alert's thread."""
    title = _headline(finding)
    lines = [f":white_check_mark: Recovered: {esc(title, 500)}", f"Lasted from {slack_date(opened_at)} to "
             f"{slack_date(cleared_at)}."]
    if now_facts:
        lines.append(f"Now: {esc(now_facts, 800)}")
    return build(
        fallback(f"Recovered: {agent}: {title}"),
        [SectionBlock(text=MarkdownTextObject(text=truncate("\n".join(lines), SECTION_LIMIT)))],
        metadata=alert_metadata(dedup_key, agent),
    )
