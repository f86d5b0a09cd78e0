"""Quoting outside text (a crash's traceback, a log's first error) safely in a Slack code block.

`quote(text)`: at most QUOTE_MAX_LINES lines / QUOTE_MAX_CHARS characters, secret-shaped tokens
masked, mrkdwn escaped, and a ``` inside the text defused so it cannot close the block early.
Shared by the agent health alerts and the failure causes (issue 12: "quoted the way a cause is").
"""

from __future__ import annotations

import re

from bot.blocks.format import escape

QUOTE_MAX_LINES = 6
QUOTE_MAX_CHARS = 600
MASK = "••••"
FENCE = "```"
_BACKTICK_RUN = re.compile(r"`{3,}")
#: Secret-shaped tokens; each match keeps a short prefix so the kind of secret stays readable.
SECRET_PATTERNS = (
    # Pipecat/Stripe-style keys: sk_live_…, pk_…, ck_….
    re.compile(r"\b((?:sk|pk|ck)_)[A-Za-z0-9_\-]{6,}"),
    # Authorization headers.
    re.compile(r"(\bBearer\s+)[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE),
    # Slack tokens: xoxb-…, xoxp-…, xapp-….
    re.compile(r"\b(xox[a-z]?-|xapp-)[A-Za-z0-9\-]{6,}"),
    # Long hex runs (API keys, hashes) and long base64 runs (tokens, credentials).
    re.compile(r"()\b[0-9a-fA-F]{32,}\b"),
    re.compile(r"()(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}"),
)


def mask_secrets(text: str) -> str:
    """Replace secret-shaped tokens with their prefix and MASK."""
    for pattern in SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    return text


def clip(text: str, *, max_lines: int = QUOTE_MAX_LINES, max_chars: int = QUOTE_MAX_CHARS) -> str:
    """The first `max_lines` lines and `max_chars` characters of `text` (raw, before escaping),
    with "…" where something was left out."""
    lines = text.replace("\r", "").strip("\n").split("\n")
    cut = len(lines) > max_lines
    kept = "\n".join(lines[:max_lines])
    if len(kept) > max_chars:
        kept, cut = kept[: max_chars - 1], True
    return kept + ("…" if cut else "")


def quote(text: str, *, max_lines: int = QUOTE_MAX_LINES, max_chars: int = QUOTE_MAX_CHARS) -> str:
    """A mrkdwn code block of `text`, safe to post (masked first, so a clip never reveals half a
    secret; escaped last, so the length bound is on what the reader sees)."""
    body = clip(mask_secrets(text), max_lines=max_lines, max_chars=max_chars)
    return f"{FENCE}\n{escape(_BACKTICK_RUN.sub(lambda m: 'ʼ' * len(m.group()), body))}\n{FENCE}"
