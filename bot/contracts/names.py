"""What agent names and session ids look like: the one definition of both patterns."""

from __future__ import annotations

import re

#: An agent name, unanchored (to embed in larger patterns): 1-63 letters, digits, '-' or '_'.
AGENT_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}"
#: A session id: a UUID in any case, unanchored.
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

#: The short id the app prints: the first 8 hex characters of the UUID, then "…" (or "...").
SHORT_ID_PATTERN = r"[0-9a-fA-F]{8}(?:…|\.\.\.)?"
SHORT_ID_LENGTH = 8

AGENT_NAME = re.compile(rf"^{AGENT_NAME_PATTERN}$")
SESSION_ID = re.compile(rf"^{UUID_PATTERN}$")


def is_agent_name(value: object) -> bool:
    return isinstance(value, str) and AGENT_NAME.fullmatch(value) is not None


def is_session_id(value: object) -> bool:
    return isinstance(value, str) and SESSION_ID.fullmatch(value) is not None
