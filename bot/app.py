"""The one composition root: settings → clients → store → alert pipeline (bot/wiring.py) → Bolt
app → scheduler.

Nothing else constructs clients or stages; handlers get what they need through `Deps`, the
scheduler's jobs are AlertJobs and the housekeeping listed in `Runtime.start_scheduler`.
"""

from __future__ import annotations

import asyncio
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
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.access import Gate
from bot.after_ack import AfterAck
from bot.alerts import policy
from bot.alerts.digest import DigestService
from bot.alerts.gauges import refresh_store_gauges
from bot.alerts.jobs import AlertJobs
from bot.alerts.scheduler import Housekeeping, start_scheduler
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.deps import Deps
from bot.explain.explainer import LOOKUP_CAUSE_WAIT_SECONDS
from bot.explain.lookup import LookupCauses
from bot.lookup import AgentDirectory, SessionFinder
from bot.ops.events import PipelineEvents
from bot.ops.heap import freeze_startup_heap
from bot.ops.instrument import MeteredEvents, MeteredSocketModeHandler, MeteredTransport, MeteredWebClient, timed_ack
from bot.ops.metrics import CONTENT_TYPE, Metrics
from bot.pagerduty import client as pagerduty
from bot.pipecat.client import PipecatClient, build_http_client
from bot.probes.health import HealthProbe
from bot.rates.policy import DEMO_RATE_RULES, RATE_RULES
from bot.slack import actions, commands, home, incident_actions, shortcuts
from bot.slack.observe import ObserveRequest
from bot.slack.respond import GiveRespond, ResponseSession
from bot.store import Store
from bot.webhooks.effects import WebhookEffects
from bot.webhooks.receive import ROUTE as WEBHOOK_ROUTE
from bot.webhooks.receive import WebhookReceiver
from bot.wiring import AlertSettings, build_alerts

logger = logging.getLogger(__name__)

#: Slack Web API calls give up after this long; the outbox treats a timeout as "uncertain".
SLACK_TIMEOUT_SECONDS = 10
#: How often the audit trail drops entries past AUDIT_RETENTION_DAYS.
AUDIT_PRUNE_HOURS = 6
#: On shutdown, answers still being worked on get this long to finish.
DRAIN_SECONDS = 10
#: How often each replica looks for a daily digest that is due (the outbox keeps it to one post).
DIGEST_CHECK_SECONDS = 60
#: /metrics gives the database this long for its gauges, then serves the last values.
STORE_GAUGE_TIMEOUT_SECONDS = 1.0


@dataclass
class Runtime:
    settings: Settings
    deps: Deps
    jobs: AlertJobs
    bolt: AsyncApp
    store: Store
    pipecat_http: httpx.AsyncClient
    slack: AsyncWebClient
    metrics: Metrics
    health: HealthProbe
    digests: DigestService
    #: The one HTTP session response_url posts go through.
    responses: ResponseSession
    scheduler: Any = field(default=None)
    pagerduty_http: httpx.AsyncClient | None = None
    webhooks: WebhookReceiver | None = None
    webhook_effects: WebhookEffects | None = None

    async def start(self, *, with_scheduler: bool = True, freeze_heap: bool = False) -> None:
        """`freeze_heap`: the process runs this app only (`python -m bot`), so what start-up built is
        frozen out of the collector's full passes (bot/ops/heap.py); tests leave their heap alone."""
        await self.store.migrate()
        await self.deps.gate.prune()
        if freeze_heap:
            self.metrics.heap_frozen_objects.set(freeze_startup_heap())
        if with_scheduler:
            self.start_scheduler()

    def start_scheduler(self) -> None:
        """The per-process timers: the alert pipeline's jobs, and the housekeeping beside them."""
        housekeeping = [
            Housekeeping("audit-prune", self.deps.gate.prune, AUDIT_PRUNE_HOURS * 3600),
            Housekeeping(
                "digest", self.digests.run_due, min(DIGEST_CHECK_SECONDS, self.settings.poll_interval_seconds)
            ),
        ]
        if self.webhook_effects is not None and self.settings.pipecat_webhook_secret is not None:
            housekeeping.append(
                Housekeeping("webhook-sweep", self.webhook_effects.sweep, policy.WEBHOOK_SWEEP_EVERY.total_seconds())
            )
        self.scheduler = start_scheduler(
            self.jobs,
            interval_seconds=self.settings.poll_interval_seconds,
            status_interval_seconds=self.settings.agent_status_interval_seconds,
            housekeeping=housekeeping,
        )

    async def stop(self) -> None:
        await self.deps.after_ack.drain(grace_seconds=DRAIN_SECONDS)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
            await self.jobs.leave()
        await self.pipecat_http.aclose()
        await self.responses.close()
        if self.pagerduty_http is not None:
            await self.pagerduty_http.aclose()
        await self.store.dispose()

    def asgi(self, *, with_scheduler: bool = True, freeze_heap: bool = False) -> Starlette:
        handler = AsyncSlackRequestHandler(self.bolt)

        async def events(request: Request) -> Response:
            with self.deps.after_ack.answering():
                return await timed_ack(self.metrics, handler.handle(request))

        @contextlib.asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            await self.start(with_scheduler=with_scheduler, freeze_heap=freeze_heap)
            try:
                yield
            finally:
                await self.stop()

        routes = [Route("/slack/events", events, methods=["POST"]), *self.ops_routes(), *self.webhook_routes()]
        return Starlette(routes=routes, lifespan=lifespan)

    def ops_routes(self) -> list[Route]:
        """GET /healthz (bot/probes/health.py) and GET /metrics (bot/ops/metrics.py), in HTTP mode and
        Socket Mode alike."""

        async def healthz(request: Request) -> Response:
            report, _ = await self.health.check()
            return JSONResponse(report.to_json(), status_code=200 if report.ok else 503)

        async def metrics(request: Request) -> Response:
            try:
                await asyncio.wait_for(
                    refresh_store_gauges(self.store, self.metrics, self.deps.clock.now()), STORE_GAUGE_TIMEOUT_SECONDS
                )
                self.metrics.store_scrape_ok.set(1)
            except (SQLAlchemyError, OSError) as error:  # a scrape answers while the database is away
                self.metrics.store_scrape_ok.set(0)
                logger.warning("metrics: database gauges not refreshed (%s)", type(error).__name__)
            return Response(self.metrics.render(), media_type=CONTENT_TYPE)

        return [Route("/healthz", healthz, methods=["GET"]), Route("/metrics", metrics, methods=["GET"])]

    def webhook_routes(self) -> list[Route]:
        """POST /webhooks/pipecat (Pipecat Cloud's webhooks), in HTTP mode and Socket Mode alike; it
        answers 404 without PIPECAT_WEBHOOK_SECRET."""
        receiver = self.webhooks
        if receiver is None:
            return []
        return [Route(WEBHOOK_ROUTE, receiver.handle, methods=["POST"])]

    def ops_asgi(self) -> Starlette:
        """Socket Mode's small HTTP server: /healthz, /metrics and the webhook endpoint."""
        return Starlette(routes=[*self.ops_routes(), *self.webhook_routes()])


def build_bolt_app(
    settings: Settings, slack: AsyncWebClient, deps: Deps, responses: ResponseSession, metrics: Metrics | None = None
) -> AsyncApp:
    """The same listeners serve HTTP mode and Socket Mode; `respond()` posts through `responses`."""
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
    if metrics is not None:
        app.use(ObserveRequest())
    app.use(GiveRespond(responses))
    for surface in (commands, shortcuts, actions, incident_actions, home):
        surface.register(app, deps)
    return app


def build_runtime(settings: Settings, *, clock: Clock | None = None, demo_rates: bool = False) -> Runtime:
    """The whole app, not started. `clock`: the demo's and the tests' (the product runs on the
    system clock). `demo_rates`: rate alerts judge the demo's short windows (bot/rates/policy.py
    DEMO_RATE_RULES), so its scenarios play out in minutes."""
    clock = clock or SystemClock()
    metrics = Metrics()
    events: PipelineEvents = MeteredEvents(metrics)
    pipecat_http = build_http_client(
        settings.pipecat_api_url,
        settings.pipecat_api_key.get_secret_value(),
        wrap_transport=lambda inner: MeteredTransport(inner, metrics),
    )
    pipecat = PipecatClient(pipecat_http, clock=clock)
    # No retry handlers: the alert outbox must see a 429 or a timeout to decide (bot/alerts/delivery/transitions.py).
    slack = MeteredWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[],
    )
    slack.metrics = metrics
    store = Store.from_url(settings.database_url)
    pagerduty_http, pager = None, None
    if settings.pagerduty_routing_key is not None:
        pagerduty_http = pagerduty.build_http_client()
        pager = pagerduty.PagerDutyClient(pagerduty_http, settings.pagerduty_events_url, settings.pagerduty_routing_key)
    alerts = build_alerts(
        AlertSettings.from_settings(settings),
        store=store,
        pipecat=pipecat,
        slack=slack,
        clock=clock,
        pagerduty=pager,
        events=events,
        rate_rules=DEMO_RATE_RULES if demo_rates else RATE_RULES,
    )
    directory = AgentDirectory(pipecat, clock)
    finder = SessionFinder(pipecat, alerts.commands.watched_agents, settings.pipecat_default_agent, directory)
    gate = Gate(settings.access, store, clock, timedelta(days=settings.audit_retention_days), events)
    digests = DigestService(store=store, pipecat=pipecat, clock=clock)
    deps = Deps(
        gate=gate,
        after_ack=AfterAck(),
        settings=settings,
        clock=clock,
        pipecat=pipecat,
        finder=finder,
        agents=directory,
        alerts=alerts.commands,
        store=store,
        digests=digests,
        lookup_causes=LookupCauses(store=store, pipecat=pipecat, clock=clock, wait_seconds=LOOKUP_CAUSE_WAIT_SECONDS),
    )
    responses = ResponseSession()
    bolt = build_bolt_app(settings, slack, deps, responses, metrics)
    health = HealthProbe(store, clock, settings.poll_interval_seconds)
    effects = WebhookEffects(
        store=store, health=alerts.jobs.health, wake_delivery=alerts.jobs.wake_delivery, clock=clock
    )
    receiver = WebhookReceiver(
        secret=settings.pipecat_webhook_secret,
        store=store,
        clock=clock,
        count=lambda event_type, outcome: metrics.webhooks.labels(event_type=event_type, outcome=outcome).inc(),
        on_stored=lambda event: deps.after_ack.spawn(effects.run(event)),
    )
    return Runtime(
        settings=settings,
        deps=deps,
        jobs=alerts.jobs,
        bolt=bolt,
        store=store,
        pipecat_http=pipecat_http,
        slack=slack,
        metrics=metrics,
        health=health,
        digests=digests,
        responses=responses,
        pagerduty_http=pagerduty_http,
        webhooks=receiver,
        webhook_effects=effects,
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options in both modes (HTTP mode's whole app, Socket Mode's ops server)."""
    return {
        "host": "0.0.0.0",
        "port": settings.port,
        "log_level": "warning",
        "timeout_keep_alive": settings.http_keep_alive_seconds,
    }


def socket_mode_handler(runtime: Runtime) -> MeteredSocketModeHandler:
    """The same Bolt app, fed over Socket Mode (metered): it opens the connection with
    `apps.connections.open` on SLACK_API_URL using the app-level token."""
    app_token = runtime.settings.slack_app_token
    assert app_token is not None
    handler = MeteredSocketModeHandler(runtime.bolt, app_token.get_secret_value())
    handler.metrics = runtime.metrics
    runtime.health.socket_state = handler.client.is_connected
    return handler


async def run_socket_mode(runtime: Runtime) -> None:
    import uvicorn

    await runtime.start(freeze_heap=True)
    handler = socket_mode_handler(runtime)
    # /healthz, /metrics and /webhooks/pipecat: Slack reaches the app over the socket; probes,
    # Prometheus and Pipecat Cloud's webhooks here.
    config = uvicorn.Config(runtime.ops_asgi(), **server_options(runtime.settings))
    server = uvicorn.Server(config)
    try:
        await handler.connect_async()  # type: ignore[no-untyped-call]
        await server.serve()
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]
        await runtime.stop()
