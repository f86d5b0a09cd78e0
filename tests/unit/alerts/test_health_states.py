"""The life of an agent health condition over status reads (bot/alerts/health/states.py), as a
table: each row is a series of reads (`+` shows it, `-` positively shows it gone, `?` says nothing
about it), and what the alerts do at each read: `open` (new alert), `again` (the cleared alert
reopens), `clear` (the alert resolves), `.` (nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.alerts.health.records import CLOSED, OPEN, PENDING, Track
from bot.alerts.health.states import step
from bot.alerts.policy import HEALTH_HOLD, HealthHold

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
KEY = "unavailable"
#: The default status interval (AGENT_STATUS_INTERVAL_SECONDS).
EVERY_2_MIN = timedelta(minutes=2)


def run(reads: str, every: timedelta = EVERY_2_MIN, hold: HealthHold = HEALTH_HOLD) -> tuple[list[str], Track | None]:
    tracks: dict[str, Track] = {}
    said = []
    for i, read in enumerate(reads.replace(" ", "")):
        now = T0 + every * i
        present = [KEY] if read == "+" else []
        silent = [KEY] if read == "?" else []
        moved = step(tracks, present, silent, now, hold)
        tracks = moved.tracks
        if KEY in moved.opened:
            said.append("open")
        elif KEY in moved.reopened:
            said.append("again")
        elif KEY in moved.cleared:
            said.append("clear")
        else:
            said.append(".")
    return said, tracks.get(KEY)


@pytest.mark.parametrize(
    ("reads", "said"),
    [
        # One bad read is not a condition: held across two reads before it is alerted.
        ("+ - - - - -", ". . . . . ."),
        ("+ +", ". open"),
        # It clears only after five minutes of reads that show it gone (at the fourth such read).
        ("+ + - - - -", ". open . . . clear"),
        # Flapping every read (a crash loop between restarts): one alert, never cleared meanwhile.
        ("+ - + - + - + -", ". . open . . . . ."),
        # ...and when the flapping stops, it clears once.
        ("+ - + - - - -", ". . open . . . clear"),
        # A read that says nothing (a trimmed answer) neither clears nor confirms anything.
        ("+ + ? ? ? ? ? ?", ". open . . . . . ."),
        ("+ ? +", ". . open"),
        ("+ + - ? ? ? ? +", ". open . . . . . ."),  # silence does not run out the clearing either
        ("+ + - ? ? ? ? -", ". open . . . . . clear"),
        # Back within 30 minutes of clearing: the same alert reopens (after the same hold).
        ("+ + - - - - + +", ". open . . . clear . again"),
        ("+ + - - - - + + - - - - + +", ". open . . . clear . again . . . clear . again"),
        # A single sighting after clearing is not a return.
        ("+ + - - - - + - - - - -", ". open . . . clear . . . . . ."),
        # Back more than 30 minutes after clearing: a new alert.
        ("+ + - - - -" + " -" * 16 + " + +", ". open . . . clear" + " ." * 16 + " . open"),
    ],
)
def test_conditions_open_after_a_hold_clear_after_a_quiet_spell_and_reopen_when_back_soon(
    reads: str, said: str
) -> None:
    assert " ".join(run(reads)[0]) == said


def test_frequent_reads_still_need_a_minute_before_alerting() -> None:
    every_15s = timedelta(seconds=15)
    said, track = run("+ + + + +", every=every_15s)
    assert said == [".", ".", ".", ".", "open"]  # the fifth read is the first a minute after the first
    assert track is not None and track.opened_at == T0  # the alert says since when it held


def test_a_hovering_capacity_line_sampled_every_15_seconds_alerts_once() -> None:
    # 2 <-> 3 of 3 replicas every 15 s for 90 s: the level keeps FULL (hysteresis in sessions),
    # and even a flapping finding is held; here the finding flaps to show the hold alone suffices.
    said, _ = run("+ - + - + - +", every=timedelta(seconds=15))
    assert said.count("open") == 1 and "clear" not in said


def test_a_reopened_condition_keeps_its_opening_time_and_counts_its_returns() -> None:
    _, track = run("+ + - - - - + + - - - - + +")
    assert track is not None and track.state == OPEN
    assert track.opened_at == T0 + EVERY_2_MIN * 0 and track.returns == 2


def test_tracks_are_forgotten_once_nothing_can_reopen_them() -> None:
    assert run("+ - - -")[1] is not None and run("+ - - -")[1].state == PENDING  # type: ignore[union-attr]
    assert run("+ - - - -")[1] is None  # never alerted, gone for five minutes
    _, closed = run("+ + - - - -")
    assert closed is not None and closed.state == CLOSED
    assert run("+ + - - - -" + " -" * 16)[1] is None  # 32 minutes after clearing


def test_a_hold_of_one_read_alerts_at_once() -> None:
    at_once = HealthHold(1, timedelta(0), timedelta(0), timedelta(minutes=30))
    assert run("+ - +", hold=at_once)[0] == ["open", "clear", "again"]
