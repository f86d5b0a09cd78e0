"""`POST /webhooks/pipecat`: verify, store once, answer; the effects run after the answer.

Without PIPECAT_WEBHOOK_SECRET the route answers 404, as if it did not exist. A delivery larger
than MAX_BODY_BYTES is refused before the rest of it is read (its Content-Length, else while
reading). Forged, tampered, replayed, unsigned, oversized or malformed deliveries get a 4xx, are
logged (never their body, never the secret) and counted, and change nothing. A verified delivery
is stored under its webhook-id before the 2xx; a redelivery of a stored id is answered 200 and
changes nothing. A database that cannot store it gets a 503, so Pipecat Cloud delivers it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pydantic import SecretStr, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.clock import Clock
from bot.webhooks import verify as v
from bot.webhooks.events import Envelope, StoredEvent, agent_of, metric_label
from bot.webhooks.ports import ReceiverStore

logger = logging.getLogger(__name__)

ROUTE = "/webhooks/pipecat"
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
STORE_FAILED = "store_failed"
#: The event-type label of a delivery refused before its body could be trusted.
UNVERIFIED = "unverified"

#: (event type label, outcome) → counted (pipecat_ops_webhooks_total).
Count = Callable[[str, str], None]
#: Called with an event stored for the first time, after which the answer leaves.
OnStored = Callable[[StoredEvent], None]


class BodyTooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or BodyTooLarge as soon as it exceeds `limit` (the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookReceiver:
    def __init__(
        self, *, secret: SecretStr | None, store: ReceiverStore, clock: Clock, count: Count, on_stored: OnStored
    ) -> None:
        self._secret = secret
        self._store = store
        self._clock = clock
        self._count = count
        self._on_stored = on_stored

    @property
    def enabled(self) -> bool:
        return self._secret is not None

    def _refuse(self, refusal: v.Refused, request: Request) -> Response:
        self._count(UNVERIFIED, refusal.outcome)
        client = request.client.host if request.client else "unknown"
        logger.warning(
            "webhook refused (%s, HTTP %d) from %s: %s", refusal.outcome, refusal.status, client, refusal.reason
        )
        return JSONResponse({"ok": False, "error": refusal.outcome}, status_code=refusal.status)

    async def handle(self, request: Request) -> Response:
        if self._secret is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        if v.too_large(request.headers.get("content-length")):
            return self._refuse(v.Refused(v.OVERSIZED, 413, "declared length exceeds the limit"), request)
        try:
            body = await read_limited(request, v.MAX_BODY_BYTES)
            delivery = v.verify(self._secret.get_secret_value(), body, request.headers)
        except BodyTooLarge:
            return self._refuse(v.Refused(v.OVERSIZED, 413, f"body exceeds {v.MAX_BODY_BYTES} bytes"), request)
        except v.Refused as refusal:
            return self._refuse(refusal, request)
        try:
            envelope = Envelope.model_validate_json(delivery.body)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            return self._refuse(
                v.Refused(v.MALFORMED, 400, f"signed, but not an event ({where}: {first['msg']})"), request
            )
        now = self._clock.now()
        kind = metric_label(envelope.event_type)
        build = envelope.data.get("build_id")
        try:
            event, new = await self._store.record_webhook(
                webhook_id=delivery.webhook_id,
                event_type=envelope.event_type,
                org=envelope.org,
                created_at=envelope.created_at or now,
                received_at=now,
                agent=agent_of(envelope.event_type, envelope.data),
                build_id=build[:64] if isinstance(build, str) and build else None,
                data=envelope.data,
            )
        except Exception:  # broad: anything unstored answers 503, so Pipecat delivers it again
            logger.exception(
                "webhook %s (%s) could not be stored; answering 503 so it is delivered again", delivery.webhook_id, kind
            )
            self._count(kind, STORE_FAILED)
            return JSONResponse({"ok": False, "error": "unavailable"}, status_code=503)
        self._count(kind, ACCEPTED if new else DUPLICATE)
        if new:
            logger.info("webhook %s (%s) stored", delivery.webhook_id, envelope.event_type)
            self._on_stored(event)
        else:
            logger.info(
                "webhook %s (%s) delivered again: already stored, nothing to do",
                delivery.webhook_id,
                envelope.event_type,
            )
        return JSONResponse({"ok": True, "duplicate": not new}, status_code=200)
