"""Fingerprints: what varies between two occurrences of one failure is removed, nothing else."""

from __future__ import annotations

import pytest

from bot.explain.fingerprint import fingerprint, normalise


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "CartesiaTTSService#0 error: websocket closed unexpectedly (code 1011)",
            "CartesiaTTSService error: websocket closed unexpectedly (code N)",
        ),
        ("session 81f4da55-106d-401f-b069-a1f1992f871a failed", "session <id> failed"),
        ("took 2.41s after 3 tries", "took Ns after N tries"),
        ("bad value 'alice@example.com' for \"name\"", "bad value '…' for '…'"),
        ("cannot reach https://api.example.com/v1/x?id=7", "cannot reach <url>"),
        ("open /tmp/rec-8812/audio.wav", "open …/audio.wav"),
        ("object at 0x7f3a2b1c failed, hash deadbeef42", "object at <hex> failed, hash <hex>"),
        ("python3.12 is fine, v2 too", "python3.12 is fine, v2 too"),
    ],
)
def test_normalise(message: str, expected: str) -> None:
    assert normalise(message) == expected


def test_two_errors_that_differ_only_in_ids_and_numbers_share_a_fingerprint() -> None:
    a = fingerprint(
        "voice-bot",
        "stt:_connect",
        "DeepgramSTTService#1 error: session 81f4da55-106d-401f-b069-a1f1992f871a timed out after 12.0s",
    )
    b = fingerprint(
        "voice-bot",
        "stt:_connect",
        "DeepgramSTTService#7 error: session 0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11 timed out after 47.5s",
    )
    assert a == b


def test_the_fingerprint_is_per_agent_and_per_cause() -> None:
    base = fingerprint("voice-bot", "tts:_receive", "quota exceeded")
    assert fingerprint("support-bot", "tts:_receive", "quota exceeded")[0] != base[0]
    assert fingerprint("voice-bot", "tts:_receive", "connection refused")[0] != base[0]
    assert fingerprint("voice-bot", "stt:_receive", "quota exceeded")[0] != base[0]


def test_a_secret_never_reaches_the_label() -> None:
    _, label = fingerprint("voice-bot", "", "quota exceeded for key ck_live_4f9a8b7c6d5e")
    assert "4f9a" not in label
