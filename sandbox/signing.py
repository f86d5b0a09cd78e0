"""Sign requests exactly as Slack does, and build the bodies Slack sends (tests, demo, bench).

`X-Slack-Signature: v0=hex(HMAC_SHA256(signing_secret, "v0:{timestamp}:{raw body}"))`, computed by
slack_sdk's own SignatureVerifier (the same code Bolt verifies with).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote, urlencode

from slack_sdk.signature import SignatureVerifier


def sign_request(signing_secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds to a request carrying `body` (timestamp: now unless given)."""
    ts = str(int(time.time()) if timestamp is None else int(timestamp))
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # None only for a missing timestamp
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def _form(fields: list[tuple[str, str]]) -> str:
    return urlencode(fields, quote_via=quote)


def slash_command_body(
    text: str,
    *,
    channel_id: str = "C2147483705",
    user_id: str = "U2147483697",
    response_url: str,
    command: str = "/session",
    trigger_id: str = "13345224609.738474920.8088930838d88f008e0",
    channel_name: str = "voice-oncall",
    user_name: str = "steve",
    team_id: str = "T0001",
) -> str:
    """The form-encoded body Slack POSTs for a slash command (the fields of slash-command.form.txt)."""
    return _form(
        [
            ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
            ("team_id", team_id),
            ("team_domain", "example"),
            ("enterprise_id", "E0001"),
            ("enterprise_name", "Globular Construct Inc"),
            ("channel_id", channel_id),
            ("channel_name", channel_name),
            ("user_id", user_id),
            ("user_name", user_name),
            ("command", command),
            ("text", text),
            ("api_app_id", "A123456"),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id),
        ]
    )


def interactive_body(payload: dict[str, Any]) -> str:
    """The form-encoded body of an interaction (shortcut, button): `payload=<json>`."""
    return _form([("payload", json.dumps(payload, separators=(",", ":")))])
