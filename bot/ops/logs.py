"""Structured logs (LOG_FORMAT, bot/config.py): stdlib logging, a JSON or console formatter,
context bound per request and per alert, and redaction of every secret on the way out.

    with bind(agent="my-bot", session="…"):
        logger.info("posted")   # → {"msg": "posted", "agent": "my-bot", "session": "…", ...}

Context lives in a ContextVar, so a task spawned inside `bind` (work after an ack) keeps it.
Redaction runs on the final formatted text, tracebacks included: a secret cannot slip through a
field, an exception message or a repr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

_context: ContextVar[dict[str, str]] = ContextVar("pipecat_ops_log_context", default={})  # noqa: B039

REDACTED = "[redacted]"
#: Secret-shaped text masked even when it is not one of our settings (a token in an API answer).
SECRET_SHAPES = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]{6,}|xapp-[A-Za-z0-9-]{6,}|(?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@))"
)
#: LogRecord attributes that are not `extra=` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


@contextlib.contextmanager
def bind(**fields: str) -> Iterator[None]:
    token = _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _context.reset(token)


def bind_rest_of_task(**fields: str) -> None:
    """Bind for the rest of the current task (one Slack request: Bolt runs its listeners after the
    global middleware returned, so a `with bind(...)` there would have ended already)."""
    _context.set({**_context.get(), **{k: v for k, v in fields.items() if v}})


def bound() -> dict[str, str]:
    return dict(_context.get())


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return SECRET_SHAPES.sub(REDACTED, text)


class _Base(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    @staticmethod
    def fields(record: logging.LogRecord) -> dict[str, Any]:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        return {**getattr(record, "_bound", {}), **extra}


class JsonFormatter(_Base):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **self.fields(record),
        }
        if record.exc_info:
            body["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            body["traceback"] = self.formatException(record.exc_info)
        if record.stack_info:
            body["stack"] = record.stack_info
        return self._redact(json.dumps(body, default=str, ensure_ascii=False))


class ConsoleFormatter(_Base):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%d %H:%M:%S")
        pairs = " ".join(f"{k}={v}" for k, v in self.fields(record).items())
        line = f"{when} {record.levelname:<7} {record.name}: {record.getMessage()}" + (f"  [{pairs}]" if pairs else "")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self._redact(line)


class _BindContext(logging.Filter):
    """Copies the bound context onto the record when it is made (in the caller's task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record._bound = _context.get()
        return True


def choose_format(setting: str, stream: TextIO) -> str:
    """`auto`: JSON when the stream is not a terminal (a container, a log shipper), console when it is."""
    if setting != "auto":
        return setting
    isatty = getattr(stream, "isatty", None)
    return "console" if isatty is not None and isatty() else "json"


#: Libraries whose INFO lines are one per request: only their warnings and errors are written.
#: httpx logs every request at INFO: a line per agent per poll cycle (1 000 agents every 15 s is
#: 67 lines a second), each costing more CPU than the poll's own work. The request counters in
#: /metrics say the same; the clients' own logs report what fails.
CHATTY_LOGGERS = ("httpx", "httpcore")


def _quiet_chatty(record: logging.LogRecord) -> bool:
    """A handler filter (not a logger level: nothing global to leak into whoever configures next)."""
    return record.levelno >= logging.WARNING or not record.name.startswith(CHATTY_LOGGERS)


def configure_logging(*, fmt: str, level: str, secrets: Iterable[str], stream: TextIO | None = None) -> logging.Handler:
    """Replace the root handlers with one that formats as `fmt` and redacts `secrets`."""
    stream = stream or sys.stderr
    redact = Redactor(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redact) if choose_format(fmt, stream) == "json" else ConsoleFormatter(redact))
    threshold = getattr(logging, level.upper(), logging.INFO)
    if threshold > logging.DEBUG:  # LOG_LEVEL=DEBUG shows them again
        handler.addFilter(_quiet_chatty)  # first: a dropped line costs no context binding
    handler.addFilter(_BindContext())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(threshold)
    return handler
