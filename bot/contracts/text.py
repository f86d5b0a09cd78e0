"""Outside text made fit to show: the one path every surface (Slack, PagerDuty, the terminal,
the webhook timeline) puts Pipecat and log text through before escaping it for its medium."""

from __future__ import annotations

import re

from bot.contracts.secrets import mask_secrets

#: Bidirectional controls (embeddings, overrides, isolates, marks): a right-to-left override in an
#: agent name or a log line makes Slack and terminals show text in another order than it is
#: ("exe.txt" read as "txt.exe"), so outside text loses them.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_bidi(text: str) -> str:
    return _BIDI.sub("", text)


def outside(text: str) -> str:
    """Outside text (Pipecat answers, log lines, health messages, names) made fit to show anywhere:
    secret-shaped tokens masked (bot/contracts/secrets.py, the one masker) and bidirectional
    controls removed. Not yet escaped: `escape` does this too, plain-text objects call it alone."""
    return mask_secrets(strip_bidi(text))
