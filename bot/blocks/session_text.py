"""A session's value texts (status, duration, memory, CPU, sparklines), plain text shared by the
Slack summary (bot/blocks/session.py) and the terminal (bot/terminal.py); callers escape for
mrkdwn. No slack_sdk and no pydantic here: the terminal lookup imports only what it prints with."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.blocks.format import NOT_REPORTED, human_bytes, human_duration, millicores, resample, sparkline
from bot.pipecat.facts import MetricsFacts, SessionFacts


def status_text(session: SessionFacts) -> str:
    if session.completion_status:
        return session.completion_status
    return "active" if session.is_active else NOT_REPORTED


def duration_text(session: SessionFacts, now: datetime | None = None) -> str:
    if not session.is_active:
        return human_duration(session.duration)
    if now is None or session.created_at is None:
        return "still running"
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)  # a naive clock is taken as UTC, as the API's timestamps are
    return f"running for {human_duration(max(now - session.created_at, timedelta(0)))}"


def _cpu(metrics: MetricsFacts, value: float | None) -> float | None:
    # With zero samples Pipecat reports 0 for every percentile: that is "no data", not "idle".
    return None if value is None or (value == 0 and metrics.sample_count == 0) else value


def memory_text(session: SessionFacts) -> str:
    peak = session.peak_memory_bytes
    if peak is None:
        return NOT_REPORTED
    p50 = session.resource_metrics.memory_bytes_p50 if session.resource_metrics else None
    # Memory of a live process is never 0 bytes, so a 0 percentile is an absent one.
    return human_bytes(peak) + (f" (p50 {human_bytes(p50)})" if p50 else "")


def cpu_text(session: SessionFacts) -> str:
    metrics = session.resource_metrics
    if metrics is None:
        return NOT_REPORTED
    p50, p99 = _cpu(metrics, metrics.cpu_millicores_p50), _cpu(metrics, metrics.cpu_millicores_p99)
    if p50 is None and p99 is None:
        return NOT_REPORTED
    return f"{millicores(p50)} / {millicores(p99)}"


def bot_start_text(session: SessionFacts) -> str:
    return human_duration(session.bot_start_seconds)


def sparklines(session: SessionFacts) -> tuple[str, str] | None:
    """(cpu, memory) sparklines, or None when there are no samples to draw."""
    samples = session.resource_metrics.timeseries if session.resource_metrics else []
    if not samples:
        return None
    return sparkline(resample([s.c for s in samples])), sparkline(resample([s.m for s in samples]))
