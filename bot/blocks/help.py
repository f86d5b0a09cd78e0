"""`/session help` and the answer to anything unparseable (bot/slack/parsing.py): usage, never a trace."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.blocks.format import SECTION_LIMIT, esc, escape
from bot.blocks.message import Message, build
from bot.contracts.alerts import MUTE_USAGE

#: Where a one-line usage error sends the reader for the rest.
HELP_HINT = "`/session help` for more"

# (form, what it does). Forms contain `<agent>`-style placeholders, escaped when rendered.
USAGE: tuple[tuple[str, str], ...] = (
    ("/session <agent> <session-id>", "look one session up"),
    ("/session <agent>/<session-id>", "the same, as one word"),
    ("/session https://…/agents/<agent>/…/<session-id>", "a URL that names the agent and the session"),
    ("/session <session-id>", "the agent is found from the channel's watches or the default agent"),
    ("/session <agent> 3e896c64…", "a short id as the app prints it: matched against the agent's recent sessions"),
    ("/session <agent>", "the agent's card (also `/session agent <agent>`)"),
    ("/session agents", "the organization's agents: region, ready, active sessions"),
    ("/session list <agent> [errors] [N]", "the newest N sessions, at most 25 (errors only, with causes)"),
    ("/session stats <agent> [1h|24h|7d]", "counts, error rate, durations, cold starts"),
    ("/session causes <agent> [1h|24h|7d]", "the most frequent failure causes, from the sessions' own logs"),
    ("/session changes [<agent>] [1h|24h|7d]", "what changed: deploys, builds, secrets, keys, spend (webhooks)"),
    ("/session watch <agent> [status …] [@group] [page]", "alert this channel when sessions end badly"),
    ("/session unwatch <agent>", "stop alerting this channel"),
    ("/session watches", "this channel's watches and their health"),
    ("/session watch <agent> … page", "the watch's incidents also page PagerDuty (needs PAGERDUTY_ROUTING_KEY)"),
    ("/session watch <agent> … runbook <https-url>", "every alert of the watch links its runbook"),
    (f"/session {MUTE_USAGE}", "silence alerts for a while"),
    ("/session unmute <agent>", "end a mute early"),
    ("/session digest on [HH:MM] | off", "a daily summary in this channel (UTC, default 09:00)"),
    ("/session rates <agent>", "calls per minute, failure rate, cold starts, bot start: 5 min / 1 h / 24 h vs usual"),
    ("/session slo <agent> <target>% [7d|28d|30d] | off", "an SLO: budget burn alerts (page 14.4x / 6x, warn 1x)"),
    ("/session help", "this message"),
)
PRIVATE_NOTE = "Add `-p` or `private` to any command for an answer only you can see."


def usage_error(error: str) -> Message:
    """One line: what was wrong and the form expected (bot/slack/parsing.py words both), and where
    the rest is. The error usually quotes user input, so it is escaped and bounded."""
    text = f"⚠️ {esc(error, 1000)} · {HELP_HINT}"
    return build(f"{escape(error)[:200]} · /session help for more", [SectionBlock(text=MarkdownTextObject(text=text))])


def help_message(*, error: str | None = None) -> Message:
    if error is not None:
        return usage_error(error)
    blocks: list[Block] = []
    lines = [f"`{escape(form)}` {escape(what)}" for form, what in USAGE]
    text = "*How to use `/session`*\n" + "\n".join(lines)
    assert len(text) <= SECTION_LIMIT  # static text; a failing assert means USAGE grew too long
    blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=PRIVATE_NOTE)]))
    fallback = (
        "Usage: /session <agent> <session-id>, list, stats, causes, changes, watch, unwatch, watches, mute, unmute"
    )
    return build(fallback, blocks)
