"""Short confirmations for watch, unwatch, mute and unmute."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time

from slack_sdk.models.blocks import SectionBlock

from bot.blocks.alerts import user_mention
from bot.blocks.format import escape, slack_date
from bot.blocks.message import Message, build
from bot.blocks.message import fallback as fallback_text


def notice(text: str, fallback: str) -> Message:
    """`text` is mrkdwn the caller made safe; `fallback` is plain and escaped (and masked) here."""
    return build(fallback_text(fallback), [SectionBlock(text=text)])


def watching(
    agent: str, statuses: Sequence[str], group: str | None, *, page: bool = False, runbook: str | None = None
) -> Message:
    what = ", ".join(f"`{escape(s)}`" for s in statuses)
    mention = f" and mention {group}" if group else ""  # group is built by the parser, safe to render
    paging = " Incidents also page PagerDuty." if page else ""
    # The runbook was checked as an https URL without <, > or | (bot/contracts/links.py).
    book = f" Every alert links its runbook: <{runbook}|runbook>." if runbook else ""
    return notice(
        f":eyes: Watching *{escape(agent)}* in this channel: I'll post sessions that end with {what}{mention}. "
        f"History is not back-filled.{paging}{book}",
        f"Watching {agent}",
    )


def unwatched(agent: str, removed: bool) -> Message:
    if removed:
        return notice(f"Stopped watching *{escape(agent)}* in this channel.", f"Stopped watching {agent}")
    return notice(f"*{escape(agent)}* was not watched in this channel.", f"{agent} was not watched")


def muted(agent: str, until: datetime) -> Message:
    return notice(
        f":mute: Alerts for *{escape(agent)}* are muted here until {slack_date(until)}. "
        "Failures are still recorded; `/session unmute` ends it early.",
        f"Muted {agent}",
    )


def already_acknowledged(user_id: str, at: datetime, what: str = "incident") -> Message:
    """A second Acknowledge: the first one stands (`what`: "incident", or "alert" for a health one)."""
    return notice(
        f":eyes: {user_mention(user_id)} already acknowledged this {what} at {slack_date(at)}.",
        "Already acknowledged",
    )


def unmuted(agent: str, was_muted: bool) -> Message:
    if was_muted:
        return notice(f":loud_sound: Alerts for *{escape(agent)}* are back on.", f"Unmuted {agent}")
    return notice(f"*{escape(agent)}* was not muted here.", f"{agent} was not muted")


def refused(reason: str) -> Message:
    """An access refusal: the reason is our own text (no user input in it)."""
    return notice(f":no_entry: {reason}", "Not allowed")


def digest_on(at: time) -> Message:
    return notice(
        f":newspaper: A daily digest will be posted here at {at:%H:%M} UTC: sessions, failures, error rate, "
        "bot start times and the worst sessions of each agent this channel watches. `/session digest off` stops it.",
        f"Daily digest on at {at:%H:%M} UTC",
    )


def digest_off(was_on: bool) -> Message:
    if was_on:
        return notice("The daily digest is off for this channel.", "Daily digest off")
    return notice("This channel had no daily digest.", "No daily digest here")


def slo_set(agent: str, target: float | None, period: str) -> Message:
    """The answer to `/session slo`."""
    if target is None:
        return notice(f":white_check_mark: No SLO for *{escape(agent)}* any more: its burn alerts stop.", "SLO off")
    return notice(
        f":dart: SLO for *{escape(agent)}*: {target * 100:g}% of sessions good over {escape(period)}. "
        "Channels watching it are told when the error budget burns fast (paging watches are paged at "
        "14.4x over 1 h and 5 min, or 6x over 6 h and 30 min; 1x over 3 days and 6 h is a warning). "
        "`/session rates` shows the budget left.",
        f"SLO for {agent}: {target * 100:g}%",
    )
