"""Chart PNG rendering; matplotlib must stay out of processes that never draw."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.charts import chart_points, render_session_chart
from bot.pipecat.models import Session
from tests.blocks_checks import CASES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ["session-detail-error", "session-detail-seed"])
def test_renders_png(name: str) -> None:
    png = render_session_chart("voice-bot", CASES[name])
    assert png.startswith(PNG_MAGIC)
    assert len(png) > 1000


def test_hostile_title_and_partial_samples() -> None:
    session = CASES["session-detail-error"]
    assert session.resource_metrics is not None
    timeseries = session.resource_metrics.timeseries
    samples = [s.model_copy(update={"c": None}) if i % 2 else s for i, s in enumerate(timeseries)]
    metrics = session.resource_metrics.model_copy(update={"timeseries": samples})
    png = render_session_chart("$x_{1$ <!channel>", session.model_copy(update={"resource_metrics": metrics}))
    assert png.startswith(PNG_MAGIC)


@pytest.mark.parametrize("name", ["session-detail-odd", "session-detail-active", "sessions-list-page-0"])
def test_no_samples_raises(name: str) -> None:
    with pytest.raises(ValueError, match="no timed resource samples"):
        render_session_chart("voice-bot", CASES[name])


def test_import_is_lazy() -> None:
    code = "import sys, bot.charts; print('matplotlib' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == "False"


def _with_times(times: list[int]) -> Session:
    session = CASES["session-detail-error"]
    assert session.resource_metrics is not None
    samples = [s.model_copy(update={"t": t}) for s, t in zip(session.resource_metrics.timeseries, times, strict=False)]
    metrics = session.resource_metrics.model_copy(update={"timeseries": samples})
    return session.model_copy(update={"resource_metrics": metrics})


def test_a_sample_time_past_year_9999_is_left_out_not_an_error() -> None:
    """Epoch seconds no calendar holds (the API may send any integer) are "not reported": the chart
    is drawn from the samples that have a time, and with none it is "no resource samples"."""
    beyond = 10**15  # year ~31 million
    cpu, mem = chart_points(_with_times([1793368931, beyond, 1793368941]))
    assert [t.year for t, _ in cpu] == [2026, 2026] and len(mem) == 2
    assert render_session_chart("voice-bot", _with_times([1793368931, beyond])).startswith(PNG_MAGIC)
    assert chart_points(_with_times([beyond, beyond])) == ([], [])
    with pytest.raises(ValueError, match="no timed resource samples"):
        render_session_chart("voice-bot", _with_times([beyond, beyond]))
