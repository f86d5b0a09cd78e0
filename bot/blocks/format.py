"""Text formatting shared by every builder: escaping, units, Slack date tokens, sparklines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.contracts.outcomes import ACTIVE, COMPLETED, ERROR, OTHER, TIMEOUT, outcome
from bot.contracts.text import outside

NOT_REPORTED = "not reported"
SPARK_CHARS = "▁▂▃▄▅▆▇█"


def escape(text: str) -> str:
    """Make user or API text safe for mrkdwn: it cannot ping, link or format (entities), reorder
    what is around it (bidi controls) or show a secret (masked), whichever path it takes to Slack."""
    return outside(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain(text: str, limit: int) -> str:
    """Outside text for a plain_text object (a header, a button label): masked, then cut."""
    return truncate(outside(text), limit)


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
    """A negative duration (a bot start of -1, an end before the start) is no measurement at all:
    "not reported", like an absent one, never "-1s"."""
    if value is None:
        return NOT_REPORTED
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0 or seconds != seconds:  # negative or NaN
        return NOT_REPORTED
    if seconds < 60:
        return f"{seconds:.0f}s" if seconds >= 10 or seconds == int(seconds) else f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def millicores(value: float | None) -> str:
    return NOT_REPORTED if value is None else f"{value:.0f}m"


def epoch_time(value: float | None) -> datetime | None:
    """Epoch seconds from the API as a UTC time; None ("not reported") for an absent one or one no
    calendar date can hold (past year 9999, or NaN), which `datetime.fromtimestamp` raises on."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def plain_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def slack_date(
    value: datetime | None, token: str = "{date_short_pretty} {time_secs}", *, link: str | None = None
) -> str:
    """A Slack date token that renders in the reader's time zone, with a UTC fallback (labelled).
    `link`: the date itself links there (a link's own label cannot hold a token, this can)."""
    if value is None:
        return NOT_REPORTED
    target = f"^{link}" if link else ""
    return f"<!date^{int(value.timestamp())}^{token}{target}|{plain_time(value)}>"


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

#: Slack's per-object text limits (Block Kit's documented maxima); builders truncate to these, never rely on Slack.
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
HEADER_LIMIT = 150
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
CONTEXT_LIMIT = 2000
FALLBACK_LIMIT = 300
MAX_BLOCKS = 50
SPARK_POINTS = 60

# A session's badge is its outcome (bot.contracts.outcomes: the one definition of "failed").
_BADGE_EMOJI = {ACTIVE: "🟢", COMPLETED: "✅", ERROR: "🔴", TIMEOUT: "⏱️", OTHER: "⚪"}
# The raw value that *is* the kind needs no "(raw)" suffix; anything else is shown verbatim.
_CANONICAL = {"HTTP_COMPLETED", "HTTP_ERROR", "BOT_CONNECTION_TIMEOUT", "COMPLETED", "ACTIVE"}


def status_kind(completion_status: str | None, end_state: str | None, *, active: bool) -> str:
    """Badge kind: the session's outcome (completionStatus wins; endState refines the rest)."""
    return outcome(completion_status, end_state, active=active)


def status_badge(completion_status: str | None, end_state: str | None, *, active: bool) -> str:
    """ "🔴 error", "🔴 error (500)", "⚪ SOMETHING_NEW": plain text, callers escape for mrkdwn."""
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
