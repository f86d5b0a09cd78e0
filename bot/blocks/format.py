"""Text formatting shared by every builder: escaping, units, Slack date tokens, sparklines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

NOT_REPORTED = "not reported"
SPARK_CHARS = "▁▂▃▄▅▆▇█"


def escape(text: str) -> str:
    """Escape mrkdwn control characters so user or API text cannot ping, link or format."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def human_bytes(value: int | float | None) -> str:
    if value is None:
        return NOT_REPORTED
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit in ("B", "KiB") or size >= 100 else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - loop always returns


def human_duration(value: timedelta | float | None) -> str:
    if value is None:
        return NOT_REPORTED
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def millicores(value: float | None) -> str:
    return NOT_REPORTED if value is None else f"{value:.0f}m"


def plain_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def slack_date(value: datetime | None, token: str = "{date_short_pretty} {time_secs}") -> str:
    """A Slack date token that renders in the reader's time zone, with a UTC fallback."""
    if value is None:
        return NOT_REPORTED
    return f"<!date^{int(value.timestamp())}^{token}|{plain_time(value)}>"


def sparkline(values: Sequence[float | int | None]) -> str:
    points = [float(v) for v in values if v is not None]
    if not points:
        return ""
    low, high = min(points), max(points)
    span = high - low
    if span == 0:
        return SPARK_CHARS[0] * len(points)
    last = len(SPARK_CHARS) - 1
    return "".join(SPARK_CHARS[round((p - low) / span * last)] for p in points)


def truncate(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: max(0, limit - len(marker))] + marker


# --- additions for the session, list, stats and log builders -------------------------------------

#: Slack's per-object text limits (design.md §3); builders truncate to these, never rely on Slack.
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 300
MAX_BLOCKS = 50
SPARK_POINTS = 60

# Classification kinds for a session's badge; unknown statuses fall through to "other".
ACTIVE, COMPLETED, ERROR, TIMEOUT, OTHER = "active", "completed", "error", "timeout", "other"
_BADGE_EMOJI = {ACTIVE: "🟢", COMPLETED: "✅", ERROR: "🔴", TIMEOUT: "⏱️", OTHER: "⚪"}
# The raw value that *is* the kind needs no "(raw)" suffix; anything else is shown verbatim.
_CANONICAL = {"HTTP_COMPLETED", "HTTP_ERROR", "BOT_CONNECTION_TIMEOUT", "COMPLETED", "ACTIVE"}
_STATUS_KIND = {"HTTP_COMPLETED": COMPLETED, "HTTP_ERROR": ERROR, "BOT_CONNECTION_TIMEOUT": TIMEOUT}
_END_STATE_KIND = {
    "COMPLETED": COMPLETED,
    "AGENT_START_TIMEOUT": TIMEOUT,
    "AGENT_ERROR": ERROR,
    "ENDED_BEFORE_AGENT_START": ERROR,
    "TERMINATED": ERROR,
}


def status_kind(completion_status: str | None, end_state: str | None, *, active: bool) -> str:
    """Badge kind. completionStatus is what alerts key on, so it wins; endState refines the rest."""
    if active:
        return ACTIVE
    status = (completion_status or "").upper()
    if status in _STATUS_KIND:
        return _STATUS_KIND[status]
    if status.isdigit() and 500 <= int(status) <= 599:
        return ERROR
    return _END_STATE_KIND.get((end_state or "").upper(), OTHER)


def status_badge(completion_status: str | None, end_state: str | None, *, active: bool) -> str:
    """"🔴 error", "🔴 error (500)", "⚪ SOMETHING_NEW": plain text, callers escape for mrkdwn."""
    kind = status_kind(completion_status, end_state, active=active)
    raw = completion_status or end_state
    if kind == OTHER:
        return f"{_BADGE_EMOJI[OTHER]} {raw or 'unknown'}"
    label = f"{_BADGE_EMOJI[kind]} {kind}"
    return label if raw is None or raw.upper() in _CANONICAL else f"{label} ({raw})"


def badge_emoji(completion_status: str | None, end_state: str | None, *, active: bool) -> str:
    return _BADGE_EMOJI[status_kind(completion_status, end_state, active=active)]


def short_id(session_id: str) -> str:
    return session_id if len(session_id) <= 8 else session_id[:8] + "…"


def yes_no(value: bool | None) -> str:
    return NOT_REPORTED if value is None else ("Yes" if value else "No")


def percent(value: float | None) -> str:
    return NOT_REPORTED if value is None else f"{value * 100:.1f}%"


def cut_escaped(text: str, limit: int, marker: str = "…") -> str:
    """Truncate already-escaped mrkdwn without splitting an entity such as `&amp;`."""
    if len(text) <= limit:
        return text
    head = text[: max(0, limit - len(marker))]
    amp = head.rfind("&")
    # Every `&` in escaped text opens an entity, so one with no `;` after it was cut mid-way.
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + marker


def esc(text: str, limit: int) -> str:
    """Escape for mrkdwn, then fit `limit` (escaping can grow text up to 5x, so cut afterwards)."""
    return cut_escaped(escape(text), limit)


def resample(values: Sequence[float | int | None], points: int = SPARK_POINTS) -> list[float]:
    """At most `points` values, each the max of its bucket so short spikes stay visible."""
    clean = [float(v) for v in values if v is not None]
    if len(clean) <= points:
        return clean
    size = len(clean) / points
    return [max(clean[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)]) for i in range(points)]
