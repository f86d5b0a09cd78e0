"""The bot scopes manifest.yaml asks for: `python -m bot check` compares the granted ones with
these, and the Slack stand-in grants them by default (tests/unit/test_manifest.py keeps all equal)."""

from __future__ import annotations

MANIFEST_BOT_SCOPES = (
    "commands",
    "chat:write",
    "files:write",
    "channels:history",
    "groups:history",
    "channels:read",
    "groups:read",
)
