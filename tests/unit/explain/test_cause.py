"""The first error of a session's log, its quote, and secret masking: table tests of pure functions."""

from __future__ import annotations

import pytest

from bot.explain.cause import QUOTE_MAX_CHARS, QUOTE_MAX_LINES, first_error, quote_lines
from bot.explain.secrets import MASK, mask_secrets
from tests.fixtures_pipecat import load_pipecat_fixture


def fixture_lines() -> list[str]:
    page = load_pipecat_fixture("logs-session-error.json")
    return [entry["log"] for entry in reversed(page["logs"])]  # the fixture is newest first


def line(level: str, message: str, where: str = "bot:main:10") -> str:
    return f"2026-10-30 14:03:07.880 | {level:<8} | {where} - {message}"


def test_the_fixtures_first_error_is_the_cartesia_line_with_its_traceback() -> None:
    cause = first_error(fixture_lines())
    assert cause is not None
    assert cause.headline.startswith("CartesiaTTSService#0 error: websocket closed unexpectedly (code 1011)")
    assert cause.where == "pipecat.services.cartesia.tts:_receive_messages"  # no line number
    assert len(cause.lines) == 5
    assert cause.lines[1] == "Traceback (most recent call last):"
    assert cause.lines[-1].startswith("websockets.exceptions.ConnectionClosedError:")
    # The later "Pipeline error" ERROR line is a new loguru line: not part of this cause.
    assert not any("Pipeline error" in text for text in cause.lines)


@pytest.mark.parametrize(
    ("lines", "headline"),
    [
        ([line("INFO", "hi"), line("WARNING", "slow"), line("CRITICAL", "out of memory")], "out of memory"),
        ([line("INFO", "hi"), line("ERROR", "first"), line("ERROR", "second")], "first"),
        (
            [line("INFO", "hi"), "Traceback (most recent call last):", '  File "x.py", line 1', "KeyError: 'a'"],
            "KeyError: 'a'",
        ),
        ([line("INFO", "hi"), "ValueError: bad value"], "ValueError: bad value"),
        ([line("INFO", "ERROR is only a word here"), line("DEBUG", "Error: in a debug line")], None),
        ([line("INFO", "started"), line("INFO", "Bot finished")], None),
        ([], None),
    ],
    ids=["critical", "first-of-two", "bare-traceback", "bare-exception", "words-are-not-levels", "quiet", "empty"],
)
def test_first_error(lines: list[str], headline: str | None) -> None:
    cause = first_error(lines)
    assert (cause.headline if cause else None) == headline


def test_a_long_traceback_is_quoted_in_six_lines_keeping_the_error_and_the_exception() -> None:
    frames = [f'  File "/app/m{i}.py", line {i}, in f{i}' for i in range(30)]
    cause = first_error([line("ERROR", "boom"), "Traceback (most recent call last):", *frames, "RuntimeError: deep"])
    assert cause is not None
    quoted = quote_lines(cause)
    assert len(quoted) == QUOTE_MAX_LINES
    assert quoted[0].endswith("- boom") and quoted[-1] == "RuntimeError: deep" and "  …" in quoted


def test_a_quote_never_exceeds_600_characters() -> None:
    cause = first_error([line("ERROR", "x" * 2000), "ValueError: " + "y" * 2000])
    assert cause is not None
    quoted = quote_lines(cause)
    assert sum(len(q) + 1 for q in quoted) - 1 <= QUOTE_MAX_CHARS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("quota exceeded for key ck_live_4f9a8b7c6d5e", f"quota exceeded for key ck_{MASK}"),
        ("sk_test_abc123 and pk_live_XYZ", f"sk_{MASK} and pk_{MASK}"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", f"Authorization: Bearer {MASK}"),
        ("slack xoxb-1234-5678-abcdEFGH leaked", f"slack xoxb-{MASK} leaked"),
        ("GET /x?api_key=s3cr3t&n=1", f"GET /x?api_key={MASK}&n=1"),
        ("digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", f"digest {MASK}"),
        ("blob QWxhZGRpbjpvcGVuIHNlc2FtZTEyMzQ1Njc4OTBhYmNkZWY=", f"blob {MASK}"),
        # Not secrets: a path, a session id, a long plain word.
        (
            "/usr/local/lib/python3.12/site-packages/pipecat/services",
            "/usr/local/lib/python3.12/site-packages/pipecat/services",
        ),
        ("session 81f4da55-106d-401f-b069-a1f1992f871a", "session 81f4da55-106d-401f-b069-a1f1992f871a"),
        ("CartesiaTTSServiceWebsocketReconnectionHandler", "CartesiaTTSServiceWebsocketReconnectionHandler"),
    ],
)
def test_mask_secrets(text: str, expected: str) -> None:
    assert mask_secrets(text) == expected
    assert mask_secrets(expected) == expected  # idempotent
