"""PNG chart of a session's CPU and memory for the Chart button (uploaded via files_upload_v2).

matplotlib is imported inside the function: it costs ~0.5 s and tens of MB, and most processes
(the poller, the CLI, most tests) never draw a chart.
"""

from __future__ import annotations

import io
from datetime import datetime

from bot.blocks.format import epoch_time, short_id
from bot.pipecat.models import Session

MIB = 1024 * 1024
FIGSIZE = (8.0, 4.5)  # inches; at DPI 100 this fits Slack's inline preview without scaling
DPI = 100


Points = list[tuple[datetime, float]]


def chart_points(session: Session) -> tuple[Points, Points]:
    """(CPU, memory MiB) points of the samples whose time is a real date (a time past year 9999 is
    not reported: that sample is left out, the chart drawn from the rest)."""
    samples = session.resource_metrics.timeseries if session.resource_metrics else []
    cpu: Points = []
    mem: Points = []
    for s in samples:
        when = epoch_time(s.t)
        if when is None:
            continue
        if s.c is not None:
            cpu.append((when, s.c))
        if s.m is not None:
            mem.append((when, s.m / MIB))
    return cpu, mem


def render_session_chart(agent: str, session: Session) -> bytes:
    """Two stacked panels sharing the time axis: CPU (millicores) over memory (MiB)."""
    cpu, mem = chart_points(session)
    if not cpu and not mem:
        raise ValueError("no timed resource samples")

    import matplotlib

    matplotlib.use("Agg")  # no display on a server; must be chosen before any figure exists
    from matplotlib.figure import Figure  # not pyplot: no global figure registry, safe in threads

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    cpu_ax, mem_ax = fig.subplots(2, 1, sharex=True)
    # "$" would switch matplotlib to mathtext (and can fail to parse), so it is escaped.
    fig.suptitle(f"{agent} · session {short_id(session.session_id)}".replace("$", r"\$"))
    if cpu:
        cpu_ax.plot([t for t, _ in cpu], [v for _, v in cpu], color="tab:blue", marker=".")
    cpu_ax.set_ylabel("CPU (millicores)")
    cpu_ax.set_ylim(bottom=0)
    cpu_ax.grid(alpha=0.3)
    if mem:
        mem_ax.plot([t for t, _ in mem], [v for _, v in mem], color="tab:orange", marker=".")
    mem_ax.set_ylabel("Memory (MiB)")
    mem_ax.set_ylim(bottom=0)
    mem_ax.set_xlabel("time (UTC)")
    mem_ax.grid(alpha=0.3)
    fig.autofmt_xdate()

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
