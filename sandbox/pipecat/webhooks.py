"""Pipecat Cloud's webhook sender, for the simulator: events in Pipecat's envelope, signed the
Standard Webhooks way and POSTed to one endpoint, as Pipecat Cloud delivers them.

Signing is written out here (HMAC-SHA256 with the base64 part of a `whsec_` secret over
`"{id}.{timestamp}.{body}"`, header `v1,<base64>`) rather than borrowed from the app's verifier,
so the two check each other. Like the real service it can deliver a message twice (a retry reuses
the webhook-id, with a fresh timestamp and signature), lose one (a deployment event when the API
restarts right after a deploy), and use the `svix-*` header names some live deliveries carry.

    hooks = SimWebhooks(org="acme-co")
    hooks.url = f"{app_url}/webhooks/pipecat"   # PIPECAT_WEBHOOK_SECRET=hooks.secret
    await hooks.send("spend.threshold_reached", {"percent": 80, ...})
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

#: Webhook region codes differ from the agents' (`us-west-2` here, `us-west` on an agent).
REGIONS = {"us-west": "us-west-2", "us-east": "us-east-1", "eu-central": "eu-central-1"}


def new_secret(rng: random.Random) -> str:
    return "whsec_" + base64.b64encode(rng.randbytes(24)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


@dataclass
class Sent:
    """One delivery attempt (or a message that was never delivered: `status` None, `dropped`)."""

    webhook_id: str
    event_type: str
    body: bytes
    status: int | None = None
    dropped: bool = False
    headers: dict[str, str] = field(default_factory=dict)


class SimWebhooks:
    def __init__(
        self,
        *,
        org: str = "sim-org",
        rng: random.Random | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        self.org = org
        self._rng = rng or random.Random(0)
        self.secret = new_secret(self._rng)
        #: The endpoint to deliver to; None: nothing is delivered (events are only recorded).
        self.url: str | None = None
        #: `webhook` (the Standard Webhooks names) or `svix` (what some live deliveries carry).
        self.header_style = "webhook"
        self.sent: list[Sent] = []
        self._now = now
        self._wall = wall_time
        self._ids = itertools.count(1)

    def message(self, event_type: str, data: dict[str, Any], *, created_at: datetime | None = None) -> Sent:
        body = {"event_type": event_type, "org": self.org, "created_at": iso(created_at or self._now()), "data": data}
        webhook_id = f"msg_{self._rng.getrandbits(64):016x}{next(self._ids):04d}"
        return Sent(webhook_id, event_type, json.dumps(body, separators=(",", ":")).encode())

    def headers(self, message: Sent, *, timestamp: int | None = None, secret: str | None = None) -> dict[str, str]:
        stamp = int(self._wall()) if timestamp is None else timestamp
        prefix = "svix" if self.header_style == "svix" else "webhook"
        return {
            f"{prefix}-id": message.webhook_id,
            f"{prefix}-timestamp": str(stamp),
            f"{prefix}-signature": sign(secret or self.secret, message.webhook_id, stamp, message.body),
            "content-type": "application/json",
        }

    async def deliver(self, message: Sent, **signing: Any) -> Sent:
        """POST one attempt of `message` (a retry is another attempt: same id, fresh signature)."""
        attempt = Sent(message.webhook_id, message.event_type, message.body, headers=self.headers(message, **signing))
        if self.url is not None:
            async with httpx.AsyncClient(timeout=10) as http:
                answer = await http.post(self.url, content=attempt.body, headers=attempt.headers)
            attempt.status = answer.status_code
        self.sent.append(attempt)
        return attempt

    async def send(
        self,
        event_type: str,
        data: dict[str, Any],
        *,
        twice: bool = False,
        drop: bool = False,
        created_at: datetime | None = None,
    ) -> Sent:
        """One event: delivered (twice, as a retry after a lost answer would), or lost."""
        message = self.message(event_type, data, created_at=created_at)
        if drop:
            message.dropped = True
            self.sent.append(message)
            return message
        first = await self.deliver(message)
        if twice:
            await self.deliver(message)
        return first

    # -- the events the simulator's stories send ---------------------------------------------------

    def _uuid(self) -> str:
        return str(random.Random(self._rng.getrandbits(64)).randbytes(16).hex())

    async def deployed(
        self,
        agent: str,
        deployment_id: str,
        *,
        service_id: str,
        region: str = "us-west",
        drop_deployment: bool = False,
        twice: bool = False,
        commit: str | None = None,
    ) -> str:
        """A GitHub-triggered build succeeded and went live as `deployment_id`; the build id."""
        build_id = self._uuid()
        sha = commit or hashlib.sha1(build_id.encode()).hexdigest()
        await self.send(
            "build.succeeded",
            {
                "build_id": build_id,
                "region": REGIONS.get(region, region),
                "status": "success",
                "commit_sha": sha,
                "ref": "refs/heads/main",
                "repo_full_name": f"{self.org}/{agent}",
                "triggered_by": "github",
                "image_uri": f"registry.example/{self.org}/{agent}:{sha[:7]}",
                "build_duration_seconds": 94,
            },
        )
        await self.send(
            "deployment.updated",
            {
                "deployment_id": deployment_id,
                "service_id": service_id,
                "service_name": agent,
                "region": REGIONS.get(region, region),
                "build_id": build_id,
            },
            drop=drop_deployment,
            twice=twice,
        )
        return build_id

    async def secret_updated(self, set_name: str, fields: list[str], *, region: str = "us-west") -> Sent:
        return await self.send(
            "secret.updated",
            {
                "set_name": set_name,
                "region": REGIONS.get(region, region),
                "type": "secret",
                "scope": "field",
                "actor_user_id": "user_sim",
                "field_names": fields,
            },
        )

    async def spend_threshold(self, percent: int, limit_cents: int, *, twice: bool = False) -> Sent:
        return await self.send(
            "spend.threshold_reached",
            {
                "percent": percent,
                "current_spend_cents": limit_cents * percent // 100,
                "limit_cents": limit_cents,
            },
            twice=twice,
        )

    async def spend_limit_reached(self, limit_cents: int) -> Sent:
        return await self.send("spend.limit_reached", {"current_spend_cents": limit_cents, "limit_cents": limit_cents})

    async def spend_limit_cleared(self, previous_limit_cents: int) -> Sent:
        return await self.send("spend.limit_cleared", {"previous_limit_cents": previous_limit_cents})
