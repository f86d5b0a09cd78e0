"""Is this delivery from Pipecat Cloud? Standard Webhooks verification over the raw body.

Pipecat Cloud signs the Standard Webhooks way: `webhook-id`, `webhook-timestamp` (Unix seconds)
and `webhook-signature` (space-separated `v1,<base64>`), an HMAC-SHA256 keyed with the base64
part of the `whsec_…` secret over `"{id}.{timestamp}.{body}"`. Live deliveries have been seen with
the same headers named `svix-*`: they are mapped to `webhook-*` before the `standardwebhooks`
package verifies (it also refuses timestamps more than 5 minutes from now, so an old delivery
replayed later is refused).

`verify` either returns the `Delivery` or raises `Refused` with the outcome (a bounded metric
label), the HTTP status and a short reason for the log. Nothing here logs or keeps the secret.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bot.webhooks.events import MAX_WEBHOOK_ID

#: Deliveries larger than this are refused before the rest of the body is read.
MAX_BODY_BYTES = 256 * 1024
SECRET_PREFIX = "whsec_"
HEADERS = ("id", "timestamp", "signature")

# Outcomes (the `outcome` label of pipecat_ops_webhooks_total besides accepted / duplicate).
UNSIGNED = "unsigned"
BAD_SIGNATURE = "bad_signature"
STALE = "stale"
OVERSIZED = "oversized"
MALFORMED = "malformed"


class Refused(Exception):
    def __init__(self, outcome: str, status: int, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    timestamp: int
    body: bytes


def secret_problem(secret: str) -> str | None:
    """Why `secret` cannot be a signing secret, or None (settings validation uses it)."""
    if not secret.startswith(SECRET_PREFIX):
        return "must be the endpoint's signing secret, starting with whsec_"
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :] + "==", validate=False)
    except (binascii.Error, ValueError):
        return "the part after whsec_ must be base64"
    return None if key else "the part after whsec_ must not be empty"


def standard_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The three signing headers under their `webhook-*` names; a `svix-*` one is used when the
    `webhook-*` one is absent (the same values under the older names)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    found = {}
    for name in HEADERS:
        value = lowered.get(f"webhook-{name}") or lowered.get(f"svix-{name}")
        if value:
            found[f"webhook-{name}"] = value
    return found


def too_large(content_length: str | None) -> bool:
    """The declared length alone already exceeds MAX_BODY_BYTES (refuse before reading)."""
    return content_length is not None and content_length.isdigit() and int(content_length) > MAX_BODY_BYTES


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> Delivery:
    """The verified delivery; raises Refused for anything Pipecat Cloud did not sign just now."""
    if len(body) > MAX_BODY_BYTES:
        raise Refused(OVERSIZED, 413, f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    signed = standard_headers(headers)
    if len(signed) < len(HEADERS):
        missing = sorted(f"webhook-{n}" for n in HEADERS if f"webhook-{n}" not in signed)
        raise Refused(UNSIGNED, 401, f"missing {', '.join(missing)} (or svix-*)")
    webhook_id, timestamp = signed["webhook-id"], signed["webhook-timestamp"]
    if len(webhook_id) > MAX_WEBHOOK_ID or not webhook_id.isprintable():
        raise Refused(MALFORMED, 400, "webhook-id is not a message id")
    if not timestamp.isdigit():
        raise Refused(MALFORMED, 400, "webhook-timestamp is not Unix seconds")
    try:
        Webhook(secret).verify(body, signed, json_parse=False)
    except WebhookVerificationError as error:
        text = str(error)
        if "too old" in text or "too new" in text:
            raise Refused(STALE, 401, f"{text.lower()} (more than 5 minutes from now)") from None
        raise Refused(BAD_SIGNATURE, 401, "no signature matches") from None
    return Delivery(webhook_id, int(timestamp), body)
