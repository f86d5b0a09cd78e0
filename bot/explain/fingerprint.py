"""A cause's fingerprint: its message with everything that varies between occurrences removed
(ids, numbers, hex, quoted values, URLs, the variable parts of paths, `#N` instance suffixes),
hashed per agent. Two sessions that failed the same way get the same fingerprint."""

from __future__ import annotations

import hashlib
import re

from bot.explain.secrets import mask_secrets

#: Characters of the sha256 hex digest kept as the fingerprint (64 bits: no collisions in practice).
FINGERPRINT_LENGTH = 16
#: A normalised label longer than this is cut (it is shown in Slack and stored).
LABEL_MAX_CHARS = 300

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>)]+")
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
#: A path of two parts or more: only its last part (minus numbers, below) says what it is.
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/[\w.\-@~+]+){2,}/?")
_HEX = re.compile(r"\b(?:0x[0-9a-fA-F]+|(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{6,})\b")
_INSTANCE = re.compile(r"(?<=\w)#\d+\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,:]\d+)*")
_SPACES = re.compile(r"\s+")


def _path(match: re.Match[str]) -> str:
    last = match.group().rstrip("/").rsplit("/", 1)[-1]
    return f"…/{last}"


def normalise(message: str) -> str:
    """The stable form of a cause's message (also the label shown for the fingerprint)."""
    text = mask_secrets(message)
    text = _URL.sub("<url>", text)
    text = _QUOTED.sub("'…'", text)
    text = _UUID.sub("<id>", text)
    text = _PATH.sub(_path, text)
    text = _HEX.sub("<hex>", text)
    text = _INSTANCE.sub("", text)
    text = _NUMBER.sub("N", text)
    text = _SPACES.sub(" ", text).strip()
    return text[:LABEL_MAX_CHARS]


def fingerprint(agent: str, where: str, message: str) -> tuple[str, str]:
    """(fingerprint, label) of a cause: the hash is per agent and covers where it was logged."""
    label = normalise(message)
    digest = hashlib.sha256(f"{agent}\n{where}\n{label}".encode()).hexdigest()
    return digest[:FINGERPRINT_LENGTH], label
