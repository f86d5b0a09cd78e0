"""The one composition root: settings → clients → store → Bolt app → scheduler.

Nothing else constructs clients; handlers get what they need through `Deps`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.access import Gate
from bot.after_ack import AfterAck
from bot.alerts.scheduler import start_scheduler
from bot.alerts.service import AlertService
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.deps import Deps
from bot.lookup import AgentDirectory, SessionFinder
from bot.pipecat.client import PipecatClient, build_http_client
from bot.slack import actions, commands, incident_actions, shortcuts
from bot.store import Store

logger = logging.getLogger(__name__)

#: Slack Web API calls give up after this long; the outbox treats a timeout as "uncertain".
SLACK_TIMEOUT_SECONDS = 10
#: How often the audit trail drops entries past AUDIT_RETENTION_DAYS.
AUDIT_PRUNE_HOURS = 6
#: On shutdown, answers still being worked on get this long to finish.
DRAIN_SECONDS = 10


@dataclass
class Runtime:
    settings: Settings
    deps: Deps
    bolt: AsyncApp
    store: Store
    pipecat_http: httpx.AsyncClient
    slack: AsyncWebClient
    scheduler: Any = field(default=None)

    async def start(self, *, with_scheduler: bool = True) -> None:
        await self.store.migrate()
        await self.deps.gate.prune()
        if with_scheduler:
            self.start_scheduler()

    def start_scheduler(self) -> None:
        """The per-process timer: alert cycles every POLL_INTERVAL_SECONDS and the audit pruning."""
        self.scheduler = start_scheduler(self.deps.alerts, interval_seconds=self.settings.poll_interval_seconds)
        self.scheduler.add_job(
            self.deps.gate.prune,
            "interval",
            hours=AUDIT_PRUNE_HOURS,
            coalesce=True,
            max_instances=1,
            id="audit-prune",
        )

    async def stop(self) -> None:
        await self.deps.after_ack.drain(grace_seconds=DRAIN_SECONDS)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        await self.pipecat_http.aclose()
        await self.store.dispose()

    def asgi(self, *, with_scheduler: bool = True) -> Starlette:
        handler = AsyncSlackRequestHandler(self.bolt)

        async def events(request: Request) -> Response:
            with self.deps.after_ack.answering():
                return await handler.handle(request)

        async def healthz(request: Request) -> Response:
            return JSONResponse({"ok": True})

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await self.start(with_scheduler=with_scheduler)
            try:
                yield
            finally:
                await self.stop()

        routes = [Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
        return Starlette(routes=routes, lifespan=lifespan)


def build_bolt_app(settings: Settings, slack: AsyncWebClient, deps: Deps) -> AsyncApp:
    """The same listeners serve HTTP mode and Socket Mode."""
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = AsyncApp(
        client=slack,
        signing_secret=secret,
        request_verification_enabled=secret is not None,
        # Listeners ack and hand their work to deps.after_ack, so the HTTP answer leaves as soon as
        # the listener returns (see bot/after_ack.py).
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    for surface in (commands, shortcuts, actions, incident_actions):
        surface.register(app, deps)
    return app


def build_runtime(settings: Settings, *, clock: Clock | None = None) -> Runtime:
    clock = clock or SystemClock()
    pipecat_http = build_http_client(settings.pipecat_api_url, settings.pipecat_api_key.get_secret_value())
    pipecat = PipecatClient(pipecat_http, clock=clock)
    # No retry handlers: the alert outbox must see a 429 or a timeout to decide (design.md §4).
    slack = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[],
    )
    store = Store.from_url(settings.database_url)
    alerts = AlertService(
        store=store,
        pipecat=pipecat,
        slack=slack,
        clock=clock,
        default_statuses=settings.alert_status_set,
        incident_window=timedelta(minutes=settings.incident_window_minutes),
        poll_interval=settings.poll_interval_seconds,
        post_spacing=timedelta(seconds=settings.slack_post_spacing_seconds),
        give_up_after=timedelta(hours=settings.outbox_give_up_hours),
    )
    finder = SessionFinder(pipecat, alerts.watched_agents, settings.pipecat_default_agent)
    gate = Gate(settings.access, store, clock, timedelta(days=settings.audit_retention_days))
    deps = Deps(
        gate=gate,
        after_ack=AfterAck(),
        settings=settings,
        clock=clock,
        pipecat=pipecat,
        finder=finder,
        agents=AgentDirectory(pipecat, clock),
        alerts=alerts,
    )
    bolt = build_bolt_app(settings, slack, deps)
    return Runtime(settings=settings, deps=deps, bolt=bolt, store=store, pipecat_http=pipecat_http, slack=slack)


async def run_socket_mode(runtime: Runtime) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    app_token = runtime.settings.slack_app_token
    assert app_token is not None
    await runtime.start()
    try:
        handler = AsyncSocketModeHandler(runtime.bolt, app_token.get_secret_value())
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        await runtime.stop()
