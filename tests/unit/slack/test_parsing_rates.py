"""`/session rates` and `/session slo`: what parses, and the clear message for what does not."""

from __future__ import annotations

import pytest

from bot.slack.parsing import Help, Rates, Slo, parse_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rates voice-bot", Rates("voice-bot")),
        ("rates voice-bot -p", Rates("voice-bot", private=True)),
        ("slo voice-bot 99.5%", Slo("voice-bot", 0.995, "28d")),
        ("slo voice-bot 99 7d", Slo("voice-bot", 0.99, "7d")),
        ("slo voice-bot 99.95% 30D", Slo("voice-bot", pytest.approx(0.9995), "30d")),  # type: ignore[arg-type]
        ("slo voice-bot off", Slo("voice-bot", None)),
    ],
)
def test_rates_and_slo_parse(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("rates", "expected `/session rates <agent>`"),
        ("rates a b", "Too many words: expected `/session rates <agent>`"),
        ("slo voice-bot", "expected `/session slo <agent> <target>% [7d|28d|30d] | off`"),
        ("slo voice-bot 100%", "is not an SLO target"),
        ("slo voice-bot 12%", "is not an SLO target"),
        ("slo voice-bot lots", "is not an SLO target"),
        ("slo voice-bot 99% 90d", "SLO periods are 7d, 28d or 30d"),
        ("slo voice-bot off 7d", "expected `/session slo"),
        ("slo bad/agent 99%", "is not an agent name"),
    ],
)
def test_bad_rates_and_slo_commands_say_what_is_wrong(text: str, error: str) -> None:
    parsed = parse_command(text)
    assert isinstance(parsed, Help) and parsed.error is not None and error in parsed.error
