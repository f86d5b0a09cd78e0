"""Input safety: names and ids are checked before any URL is built (patterns: bot/contracts/names.py)."""

from __future__ import annotations

from urllib.parse import quote

from bot.contracts.names import AGENT_NAME, SESSION_ID
from bot.pipecat.errors import InvalidInput


def check_agent(name: str) -> str:
    if not AGENT_NAME.fullmatch(name):
        raise InvalidInput("Agent names are 1-63 letters, digits, '-' or '_', starting with a letter or digit.")
    return name


def check_session_id(session_id: str) -> str:
    """Session ids are UUIDs, accepted in any case and normalised to lower case."""
    if not SESSION_ID.fullmatch(session_id):
        raise InvalidInput("Session ids are UUIDs like 0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11.")
    return session_id.lower()


def segment(value: str) -> str:
    """Percent-encode one path segment (defence in depth after validation)."""
    return quote(value, safe="")


def session_path(agent: str, session_id: str) -> str:
    """`agents/{agent}/sessions/{id}` (relative to the API base), both checked and encoded."""
    return f"agents/{segment(check_agent(agent))}/sessions/{segment(check_session_id(session_id))}"
