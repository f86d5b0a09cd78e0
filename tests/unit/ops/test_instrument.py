"""Metric labels stay bounded: route templates instead of ids, Slack results from a closed set."""

from __future__ import annotations

import pytest

from bot.contracts.actions import interaction_kind
from bot.ops.instrument import endpoint_template

SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/v1/agents", "/agents"),
        ("/v1/agents/voice-bot", "/agents/{agent}"),
        ("/v1/agents/voice-bot/sessions", "/agents/{agent}/sessions"),
        (f"/v1/agents/voice-bot/sessions/{SID}", "/agents/{agent}/sessions/{id}"),
        ("/v1/agents/another-agent/logs", "/agents/{agent}/logs"),
        ("/v1/agents/x/unknown/y", "other"),
        (f"/v1/agents/x/sessions/{SID}/extra", "other"),
        ("/v1/something", "other"),
    ],
)
def test_endpoint_template(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_no_template_contains_an_agent_or_a_session() -> None:
    for path in ("/v1/agents/secret-agent-name", f"/v1/agents/secret-agent-name/sessions/{SID}"):
        label = endpoint_template(path)
        assert "secret" not in label and SID not in label


@pytest.mark.parametrize(
    ("action", "kind"),
    [("lookup", "command"), ("digest", "command"), ("lookup_session", "shortcut"), ("incident_ack", "action")],
)
def test_interaction_kind(action: str, kind: str) -> None:
    assert interaction_kind(action) == kind
