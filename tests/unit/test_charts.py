"""Chart PNG rendering; matplotlib must stay out of processes that never draw."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.charts import render_session_chart
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
    with pytest.raises(ValueError, match="no resource samples"):
        render_session_chart("voice-bot", CASES[name])


def test_import_is_lazy() -> None:
    code = "import sys, bot.charts; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
