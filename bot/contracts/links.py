"""Links an alert carries: a watch's runbook and the Pipecat Cloud dashboard (issue 23 §3).

Both are checked where they come in (the `/session watch … runbook <url>` command, the
PIPECAT_DASHBOARD_URL setting at load), so a bad one is refused with a clear message and never
reaches a button Slack would refuse (a button URL is at most 3000 characters, and a link Slack
cannot open is worse than none).
"""

from __future__ import annotations

import re
from string import Formatter
from urllib.parse import quote, urlsplit

#: What the runbook column holds (bot/store/schema.py subscriptions.runbook).
RUNBOOK_MAX = 500
#: Slack's limit on a button's url.
BUTTON_URL_MAX = 3000
#: Placeholders the dashboard template may name; {agent} is required.
DASHBOARD_FIELDS = frozenset({"agent", "session"})
_HOST = re.compile(r"^[A-Za-z0-9.-]+(?::\d{1,5})?$")


class BadLink(ValueError):
    """A URL that cannot be a button's link; the message says what is wrong."""


def check_https(url: str, what: str, limit: int) -> str:
    """`url` when it is an https URL with a host, no spaces or angle brackets, and at most `limit`
    characters; BadLink naming `what` otherwise."""
    if len(url) > limit:
        raise BadLink(f"{what} is {len(url)} characters; at most {limit}")
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or not _HOST.fullmatch(parts.netloc):
        raise BadLink(f"{what} must be an https:// URL with a host name")
    if any(c.isspace() or c in "<>|\"'`" for c in url):
        raise BadLink(f"{what} must not hold spaces, quotes, '<', '>' or '|'")
    return url


def runbook_url(word: str) -> str:
    """The runbook URL from a slash command's word: Slack may send a link as `<https://…>` or
    `<https://…|label>` and escapes `&` as `&amp;`."""
    if word.startswith("<") and word.endswith(">"):
        word = word[1:-1].split("|", 1)[0]
    word = word.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return check_https(word, "The runbook", RUNBOOK_MAX)


def dashboard_template(raw: str) -> str:
    """PIPECAT_DASHBOARD_URL: an https URL naming {agent} and optionally {session}, nothing else."""
    fields = {name for _, name, _, _ in Formatter().parse(raw) if name is not None}
    if "agent" not in fields:
        raise BadLink("PIPECAT_DASHBOARD_URL must name {agent} (and may name {session})")
    if unknown := fields - DASHBOARD_FIELDS:
        raise BadLink(f"PIPECAT_DASHBOARD_URL names unknown placeholders: {', '.join(sorted(unknown))}")
    sample = raw.format(agent="a", session="s")
    check_https(sample, "PIPECAT_DASHBOARD_URL", BUTTON_URL_MAX - 200)
    return raw


def agent_link(template: str | None, agent: str) -> str | None:
    """The agent's page: the template up to and including {agent} (a template that names
    {session} too, say `…/agents/{agent}/sessions/{session}`, has the agent's page at its start)."""
    if not template:
        return None
    head = template.split("{agent}", 1)[0]
    return head.format() + quote(agent, safe="")


def session_link(template: str | None, agent: str, session_id: str) -> str | None:
    """The session's page, when the template names {session}."""
    if not template or "{session}" not in template:
        return None
    return template.format(agent=quote(agent, safe=""), session=quote(session_id, safe=""))
