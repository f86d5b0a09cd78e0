"""Hints per cause class (bot/explain/hints.py): Pipecat's error line shapes, each error class,
the service that logged it, and causes that say too little for any hint."""

from __future__ import annotations

import pytest

from bot.explain.hints import ADVICE, CLASSES, hint_for, service_of

CASES = [
    # (cause text, class, provider, kind, hint starts with)
    (
        "CartesiaTTSService#0 error: quota exceeded for this API key",
        "quota",
        "Cartesia",
        "text-to-speech",
        "quota exceeded at Cartesia: check the plan or the key",
    ),
    (
        "OpenAILLMService#1 exception (openai_llm.py:212): Error code: 429 - You exceeded your current quota",
        "quota",
        "OpenAI",
        "LLM",
        "quota exceeded at OpenAI",
    ),
    (
        "OpenAILLMService#0 error: Error code: 429 - Rate limit reached",
        "rate_limit",
        "OpenAI",
        "LLM",
        "rate-limited by OpenAI",
    ),
    (
        "DeepgramSTTService#0 exception (deepgram.py:88): 401 Unauthorized",
        "authentication",
        "Deepgram",
        "speech-to-text",
        "Deepgram refused the key",
    ),
    (
        "ElevenLabsTTSService#0 error: 403 Forbidden",
        "authorization",
        "ElevenLabs",
        "text-to-speech",
        "ElevenLabs refused access",
    ),
    (
        "CartesiaTTSService#0 error: invalid_request: voice not found",
        "invalid_request",
        "Cartesia",
        "text-to-speech",
        "Cartesia refused the request",
    ),
    (
        "DeepgramSTTService#2 exception (deepgram.py:90): ConnectionClosedError: no close frame received",
        "connectivity",
        "Deepgram",
        "speech-to-text",
        "could not reach Deepgram",
    ),
    (
        "AnthropicLLMService#0 error: 529 overloaded_error: Overloaded",
        "server",
        "Anthropic",
        "LLM",
        "Anthropic failed on its side",
    ),
    ("OpenAILLMService#0 error: 503 Service Unavailable", "server", "OpenAI", "LLM", "OpenAI failed on its side"),
    ("error: 401 Unauthorized", "authentication", None, None, "the provider refused the key"),
]


@pytest.mark.parametrize(("cause", "error_class", "provider", "kind", "starts"), CASES)
def test_hint_table(cause: str, error_class: str, provider: str | None, kind: str | None, starts: str) -> None:
    hint = hint_for(cause)
    assert hint is not None
    assert (hint.error_class, hint.provider, hint.kind) == (error_class, provider, kind)
    assert hint.text.startswith(starts)


@pytest.mark.parametrize(
    "cause",
    [
        "ValueError: division by zero",
        "KeyError: 'voice_id'",
        "CartesiaTTSService#0 error: something odd happened",
        "",
    ],
)
def test_a_cause_that_says_too_little_gets_no_hint(cause: str) -> None:
    assert hint_for(cause) is None


def test_every_class_has_advice() -> None:
    assert {name for name, _ in CLASSES} == set(ADVICE)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("CartesiaTTSService#0 error: x", ("Cartesia", "text-to-speech")),
        ("OpenAIRealtimeService error: x", ("OpenAI", "realtime")),
        ("FastAPIWebsocketService#3 error: x", ("FastAPIWebsocket", None)),
        ("no service here", (None, None)),
    ],
)
def test_service_of(text: str, found: tuple[str | None, str | None]) -> None:
    assert service_of(text) == found
