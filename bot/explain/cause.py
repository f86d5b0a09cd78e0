"""A failed session's cause: the first error of its own log, as a pure function.

Pipecat bots log with loguru: `YYYY-MM-DD HH:mm:ss.SSS | LEVEL    | module:function:line - message`.
A traceback arrives as separate entries, one line each, right after the ERROR line that logged it
(or on its own, when an exception escaped the bot). The first error is the earliest line that is
either an ERROR/CRITICAL loguru line or a bare exception line (a traceback's start, `KeyError: …`);
the lines that follow it (at most MAX_FOLLOWING_LINES) are kept while they are not a new loguru
line (they are its traceback).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.explain.secrets import mask_secrets

#: The quote in a thread reply: at most this many lines and characters (before escaping).
QUOTE_MAX_LINES = 6
QUOTE_MAX_CHARS = 600
#: Traceback lines kept after the first error (before the quote is cut to QUOTE_MAX_LINES).
MAX_FOLLOWING_LINES = 40

_LOGURU = re.compile(
    r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \| (?P<level>[A-Z]+) *\| (?P<where>[^ ]+) - (?P<message>.*)$"
)
_ERROR_LEVELS = frozenset({"ERROR", "CRITICAL"})
_TRACEBACK = "Traceback (most recent call last):"
#: `ValueError: …`, `websockets.exceptions.ConnectionClosedError: …`, `KeyError` alone.
_EXCEPTION = re.compile(r"^(?:[A-Za-z_][\w]*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Timeout)(?::\s.*)?$")
_CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


@dataclass(frozen=True)
class Cause:
    """The first error of one session's log, masked (secrets never leave this module unmasked)."""

    #: What is fingerprinted and shown as the cause's name: the error's message.
    headline: str
    #: `module:function` of a loguru error line ("" for a bare exception).
    where: str
    #: The lines to quote: the error line and its traceback, whole, masked, not yet escaped.
    lines: tuple[str, ...]


def _is_loguru(line: str) -> bool:
    return _LOGURU.match(line) is not None


def _is_exception_line(line: str) -> bool:
    return line == _TRACEBACK or _EXCEPTION.match(line) is not None


def first_error(lines: Sequence[str]) -> Cause | None:
    """The first error of a log given oldest first; None when the log holds none."""
    clean = [line.rstrip("\r\n") for line in lines]
    for index, line in enumerate(clean):
        match = _LOGURU.match(line)
        if match and match.group("level") in _ERROR_LEVELS:
            where = match.group("where").rsplit(":", 1)[0]  # drop the line number: it moves per deploy
            return _cause(match.group("message"), where, clean, index)
        if not match and _is_exception_line(line.strip()):
            return _cause(_exception_of(clean, index), "", clean, index)
    return None


def _exception_of(lines: list[str], start: int) -> str:
    """For a bare traceback, the exception line that ends it is the cause's name."""
    for line in _following(lines, start):
        if _EXCEPTION.match(line.strip()):
            return line.strip()
    return lines[start].strip()


def _following(lines: list[str], start: int) -> list[str]:
    tail: list[str] = []
    for line in lines[start + 1 : start + 1 + MAX_FOLLOWING_LINES]:
        if _is_loguru(line):
            break
        tail.append(line)
    return tail


def _cause(headline: str, where: str, lines: list[str], start: int) -> Cause:
    block = [lines[start], *_following(lines, start)]
    return Cause(
        headline=mask_secrets(headline.strip()),
        where=where,
        lines=tuple(mask_secrets(line) for line in block if line.strip()),
    )


def quote_lines(cause: Cause, *, max_lines: int = QUOTE_MAX_LINES, max_chars: int = QUOTE_MAX_CHARS) -> list[str]:
    """The cause cut to fit a reply: the error line first, the exception line last (the two that
    say what happened), frames in between as room allows; at most `max_chars` in all."""
    lines = list(cause.lines)
    if len(lines) > max_lines:
        last = _last_exception(lines)
        keep_tail = [lines[last]] if last is not None else []
        head = [line for i, line in enumerate(lines) if i != last][: max_lines - 1 - len(keep_tail)]
        lines = [*head, "  …", *keep_tail]
    out: list[str] = []
    room = max_chars
    for line in lines:
        if room <= 1:
            break
        piece = line if len(line) <= room else line[: max(room - 1, 0)] + "…"
        out.append(piece)
        room -= len(piece) + 1  # the newline
    return out


def _last_exception(lines: list[str]) -> int | None:
    for index in range(len(lines) - 1, 0, -1):
        text = lines[index].strip()
        if _EXCEPTION.match(text) and not text.startswith(_CHAINED):
            return index
    return None
