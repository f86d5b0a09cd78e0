"""The explaining parts of an alert (bot/explain): likely cause, what changed, agent health.

Pure: the alert layer hands in these view models; nothing here reads the store or the API.
Every outside text (log lines, cause labels, health messages) is escaped; log text is masked
before it gets here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.blocks.format import SECTION_LIMIT, cut_escaped, esc, escape, slack_date, truncate
from bot.blocks.message import Message
from bot.blocks.serialize import block_dict

#: Causes listed on a parent (the rest are counted in one line).
TOP_CAUSES = 3
FENCE = "```"
_CAUSE_LABEL_CHARS = 160
_HEALTH_CHARS = 1200

# What a reply says when it has no quote.
NO_ERROR = "no error in this session's log"
READING = "reading this session's log…"
NOT_READ = "log not read (one of many failures at once; the parent lists the causes)"
UNREADABLE = "this session's log could not be read"


@dataclass(frozen=True)
class IncidentLink:
    channel_id: str
    parent_ts: str | None
    opened_at: datetime


@dataclass(frozen=True)
class CauseLine:
    """One cause of an incident: how many of its failures had it, and whether it is new."""

    label: str
    occurrences: int
    #: None: new. Otherwise when it was first seen, and the earlier incident if there was one.
    seen_before: datetime | None = None
    earlier: IncidentLink | None = None


@dataclass(frozen=True)
class CausesView:
    lines: Sequence[CauseLine] = ()
    #: Failures whose log said nothing, and those not read (yet, or at all: a burst).
    quiet: int = 0
    unread: int = 0
    reading: int = 0


@dataclass(frozen=True)
class FailingDeployment:
    deployment_id: str
    failures: int
    live_since: datetime | None


@dataclass(frozen=True)
class Rate:
    deployment_id: str
    sessions: int
    failures: int


@dataclass(frozen=True)
class ChangeEvent:
    """A change from the webhook timeline shortly before the trouble began."""

    at: datetime
    #: mrkdwn whose outside text is already escaped (bot/webhooks/timeline.py).
    text: str
    minutes_before: int


#: Timeline changes listed under "What changed" (the rest are counted).
MAX_CHANGE_EVENTS = 5


@dataclass(frozen=True)
class Change:
    """The "what changed" part of an incident parent."""

    failing: Sequence[FailingDeployment]
    #: (deployment, minutes) when the incident started within an hour of it going live.
    started_after: tuple[str, int] | None = None
    #: The suspect deployment's rate first, the previous deployment's second.
    rates: Sequence[Rate] = ()
    rates_window: timedelta = timedelta(hours=1)
    #: A deployment that went live after the incident started and fails too (the newest such).
    continues_on: str | None = None
    #: Webhook timeline changes of the hour before the incident began, newest first.
    events: Sequence[ChangeEvent] = ()


def code_text(text: str, limit: int) -> str:
    """Outside text for an inline code span: escaped, and a backtick cannot end the span early."""
    return esc(text.replace("`", "'"), limit)


def short_deployment(deployment_id: str) -> str:
    return deployment_id[:8]


def message_link(link: IncidentLink) -> str:
    """An incident's day, in the reader's time zone like every other time in the message, linking
    to its parent (the workspace-neutral archives URL Slack redirects) through the date token's
    own link: a plain link's label cannot hold a token, and a UTC "Dec 6" beside the reader's
    "Today 9:29 PM" read as two clocks."""
    if link.parent_ts is None:
        return slack_date(link.opened_at, "{date_short_pretty}")
    url = f"https://slack.com/archives/{link.channel_id}/p{link.parent_ts.replace('.', '')}"
    return slack_date(link.opened_at, "{date_short_pretty}", link=url)


def _cause_line(line: CauseLine) -> str:
    label = f"`{code_text(line.label, _CAUSE_LABEL_CHARS)}`"
    if line.seen_before is None:
        mark = "*new*"
    else:
        when = message_link(line.earlier) if line.earlier else slack_date(line.seen_before, "{date_short_pretty}")
        mark = f"seen before on {when}"
    return f"• {line.occurrences}× {label} · {mark}"


def causes_text(view: CausesView) -> str:
    lines = [_cause_line(line) for line in view.lines[:TOP_CAUSES]]
    hidden = sum(line.occurrences for line in view.lines[TOP_CAUSES:])
    if hidden:
        lines.append(f"• {hidden}× other causes (`/session causes` ranks them)")
    notes = []
    if view.quiet:
        notes.append(f"{view.quiet} with no error in their log")
    if view.reading:
        notes.append(f"{view.reading} still being read")
    if view.unread:
        notes.append(f"{view.unread} not read (burst)")
    if not lines and not notes:
        return ""
    if notes:
        lines.append(f"_{' · '.join(notes)}_")
    return "*Likely cause*\n" + "\n".join(lines)


def _percent(failures: int, sessions: int) -> str:
    share = failures / sessions * 100 if sessions else 0.0
    return f"{share:.0f}%" if share >= 10 or share == int(share) else f"{share:.1f}%"


def _window(window: timedelta) -> str:
    hours = window.total_seconds() / 3600
    return "last hour" if hours == 1 else f"last {hours:g} hours"


def change_event_lines(events: Sequence[ChangeEvent], began: str = "the failures began") -> list[str]:
    """One line per timeline change, newest first: "• 14:02 `KEY` in secret set `s` changed · 3 min
    before the failures began"."""
    lines = []
    for event in events[:MAX_CHANGE_EVENTS]:
        when = "just before" if event.minutes_before < 1 else f"{event.minutes_before} min before"
        lines.append(f"• {slack_date(event.at, '{time}')} {cut_escaped(event.text, 400)} · {when} {began}")
    if len(events) > MAX_CHANGE_EVENTS:
        lines.append(f"• and {len(events) - MAX_CHANGE_EVENTS} more (`/session changes`)")
    return lines


def change_text(change: Change | None) -> str:
    if change is None or not (change.failing or change.events):
        return ""
    parts = []
    for item in change.failing[:3]:
        live = f", live since {slack_date(item.live_since)}" if item.live_since else ""
        parts.append(f"`{esc(short_deployment(item.deployment_id), 20)}` ({item.failures} failed{live})")
    lines = ["*What changed*"]
    if parts:
        lines.append("Failing on deployment " + " · ".join(parts))
    if change.started_after is not None:
        deployment, minutes = change.started_after
        lines.append(f"Started {minutes} min after deployment `{esc(short_deployment(deployment), 20)}` went live")
    if change.continues_on is not None:
        newer = esc(short_deployment(change.continues_on), 20)
        lines.append(f"Failures continue on the newer deployment `{newer}`, live since this started")
    if change.rates:
        pieces = []
        for i, r in enumerate(change.rates):
            noun = " sessions" if i == 0 else ""
            dep = esc(short_deployment(r.deployment_id), 20)
            pieces.append(f"{_percent(r.failures, r.sessions)} of {r.sessions}{noun} on `{dep}`")
        rates = " · ".join(pieces)
        lines.append(f"{rates} ({_window(change.rates_window)})")
    lines += change_event_lines(change.events)
    return "\n".join(lines)


def health_text(health: str | None) -> str:
    """The agent-health slot: plain text from the agent-status reader, escaped here."""
    if not health or not health.strip():
        return ""
    return "*Agent health*\n" + esc(health.strip(), _HEALTH_CHARS)


def triage_sections(causes: CausesView | None, change: Change | None, health: str | None) -> list[Block]:
    """Likely cause, what changed, agent health: one section each, only those with something to say."""
    texts = [causes_text(causes) if causes else "", change_text(change), health_text(health)]
    return [SectionBlock(text=MarkdownTextObject(text=truncate(t, SECTION_LIMIT))) for t in texts if t]


@dataclass(frozen=True)
class ReplyCause:
    """What a thread reply says about its session's cause."""

    quote: Sequence[str] = ()
    #: Shown instead of a quote: NO_ERROR, READING, NOT_READ or UNREADABLE.
    note: str | None = None
    #: The previous reply of the thread quoted the same cause (same fingerprint): say so instead
    #: of quoting it again.
    same_as_above: bool = False
    #: What to check first (bot/explain/hints.py), plain text.
    hint: str | None = None


def _defuse(text: str) -> str:
    """A ``` inside the log would close the code block early."""
    return text.replace("```", "ʼʼʼ")


def reply_cause_block(cause: ReplyCause | None) -> Block | None:
    if cause is None:
        return None
    hint = f"\n:bulb: *Next:* {esc(cause.hint, 400)}" if cause.hint else ""
    if cause.same_as_above:
        text = f"*Cause*: same cause as above{hint}"
    elif cause.quote:
        body = "\n".join(_defuse(escape(line)) for line in cause.quote)
        # The quote is the log's own text: its times are the container's clock (UTC), no token can render
        # inside a code block, so the heading says which zone they are in.
        text = (
            f"*Cause* (from this session's log, times UTC)\n{FENCE}\n"
            f"{cut_escaped(body, SECTION_LIMIT - 60 - len(hint))}\n{FENCE}{hint}"
        )
    else:
        text = f"*Cause*: _{esc(cause.note or NO_ERROR, 200)}_"
    return SectionBlock(text=MarkdownTextObject(text=text))


def with_change_events(message: Message, events: Sequence[ChangeEvent], began: str = "this began") -> Message:
    """`message` (a health alert) with a "What changed" section before its closing context."""
    if not events:
        return message
    text = truncate("\n".join(["*What changed*", *change_event_lines(events, began)]), SECTION_LIMIT)
    section = block_dict(SectionBlock(text=MarkdownTextObject(text=text)))
    blocks = list(message.blocks)
    at = len(blocks)
    while at > 1 and blocks[at - 1].get("type") in ("context", "actions"):
        at -= 1  # before the closing context and the buttons
    return Message(message.text, [*blocks[:at], section, *blocks[at:]], message.metadata)
