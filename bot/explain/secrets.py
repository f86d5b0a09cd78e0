"""Masking secret-shaped text before it is stored, hashed or shown (log lines quote anything)."""

from __future__ import annotations

import re

MASK = "[masked]"

#: Pipecat/Stripe-style keys (`sk_live_…`, `pk_…`, `ck_…`): the prefix stays, it tells which key.
_PREFIXED_KEY = re.compile(r"\b(sk|pk|ck|rk)_[A-Za-z0-9_*\-]+")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[^\s\"',;]+", re.IGNORECASE)
#: Slack tokens: xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xapp-.
_SLACK_TOKEN = re.compile(r"\b(xox[abprs]|xapp)-[A-Za-z0-9\-]+")
#: Query-string or key=value secrets: the name stays, the value goes.
_NAMED = re.compile(r"\b(api[_-]?key|token|secret|password|passwd|auth)=([^\s&\"']+)", re.IGNORECASE)
_LONG_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{32,}={0,2}")


def _entropy_shaped(run: str) -> bool:
    """A base64-looking run is a secret only when it mixes cases and digits (a long word or a
    path-like run without digits is not)."""
    return any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run)


def mask_secrets(text: str) -> str:
    """Replace every secret-shaped token in `text` with a marker (idempotent)."""
    text = _PREFIXED_KEY.sub(lambda m: f"{m.group(1)}_{MASK}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _SLACK_TOKEN.sub(lambda m: f"{m.group(1)}-{MASK}", text)
    text = _NAMED.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _LONG_HEX.sub(MASK, text)
    return _BASE64_RUN.sub(lambda m: MASK if _entropy_shaped(m.group()) else m.group(), text)
