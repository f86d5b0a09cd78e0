"""The client builds its requests from one string (cheaper than httpx's build_request); what it
sends must be exactly what build_request would have sent."""

from __future__ import annotations

import httpx
import pytest

from bot.pipecat.client import _build, build_http_client


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("agents/voice-bot/sessions", {"status": "all", "startTime": 1793368800}),
        ("agents/voice-bot/sessions", {"status": "active", "limit": 100, "offset": 200}),
        ("agents/voice-bot/sessions/0b6f1c2e-8d4a-4f3b-9c2e-5a7d1e9f0a11", {}),
        ("agents/voice%20bot/logs", {"sessionId": "0b6f", "order": "desc", "note": "a b&c=d/é"}),
    ],
)
async def test_a_request_is_what_build_request_makes(path: str, query: dict[str, str | int]) -> None:
    http = build_http_client("https://api.pipecat.daily.co/v1", "pk_test_key")
    try:
        ours, theirs = _build(http, "GET", path, query), http.build_request("GET", path, params=query)
        assert ours.url == theirs.url
        assert ours.headers.multi_items() == theirs.headers.multi_items()
        assert ours.extensions == theirs.extensions
    finally:
        await http.aclose()


def test_the_base_url_keeps_its_version_prefix() -> None:
    http = httpx.AsyncClient(base_url="https://api.pipecat.daily.co/v1/")
    assert str(_build(http, "GET", "agents", {}).url) == "https://api.pipecat.daily.co/v1/agents"
