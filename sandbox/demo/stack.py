"""Everything the demo runs, in one event loop: simulator, Slack stand-in, the real app, the page.

    async with run_demo_stack(port=0, traffic=False, scheduler=False) as demo:
        demo.page_url           # the page
        demo.sim, demo.standin  # the fakes, to set up or inspect
        await demo.runtime.jobs.run_cycle()

`python -m bot demo` runs it with live traffic and the app's own scheduler; tests turn both off
and drive sessions and poll cycles themselves. The busy agent of the rate scenarios
(sandbox/demo/rates.py) gets its history played through the app at start with live traffic,
or with `busy_history=True`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import random
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from sandbox.demo import scenarios as demo_scenarios
from sandbox.demo.health import HealthStory
from sandbox.demo.page import PageContext, build_page_app
from sandbox.demo.rates import HISTORY, RateStory, live_traffic, replay_history
from sandbox.demo.slack import DemoUser, SlackPlayer
from sandbox.demo.traffic import PROFILES, Traffic, add_failed_session, seed_history
from sandbox.pagerduty.standin import DEFAULT_ROUTING_KEY, PagerDutyStandIn
from sandbox.pipecat.simulator import PipecatSimulator, WallClock
from sandbox.server import serve
from sandbox.slack.standin import SlackStandIn

if TYPE_CHECKING:
    from bot.app import Runtime

ONCALL_CHANNEL = "C0VOICEONCALL"
SUPPORT_CHANNEL = "C0SUPPORT"
BUSY_CHANNEL = "C0CALLCENTER"
WATCHED_AGENT = "voice-bot"
BOT_TOKEN = "xoxb-demo-token"
SIGNING_SECRET = "demo-signing-secret"
PIPECAT_KEY = "demo-pipecat-key"
POLL_INTERVAL_SECONDS = 5
#: Agent health in the demo is read every few seconds, so its story plays out in minutes.
STATUS_INTERVAL_SECONDS = 5
ME = DemoUser("U0DEMOUSER", "you")
COLLEAGUE = DemoUser("U0ALEX", "alex")
TOPICS = {
    ONCALL_CHANNEL: "On call for voice-bot. Failed sessions arrive here as incidents.",
    SUPPORT_CHANNEL: "Customer reports. Use a message's ⋯ menu to look up the session it mentions.",
    BUSY_CHANNEL: "On call for call-center, a busy agent (a call a second). Rate alerts: play them from Scenarios.",
}
CHANNELS = ((ONCALL_CHANNEL, "voice-oncall"), (SUPPORT_CHANNEL, "support"), (BUSY_CHANNEL, "call-center"))


class PortInUse(OSError):
    pass


@dataclass
class DemoStack:
    sim: PipecatSimulator
    standin: SlackStandIn
    runtime: Runtime
    pagerduty: PagerDutyStandIn
    player: SlackPlayer
    clock: WallClock
    traffic: Traffic | None
    health: HealthStory
    rates: RateStory
    page_url: str
    app_url: str
    data_dir: Path


def check_port_free(port: int, host: str = "127.0.0.1") -> None:
    """Fail with a clear message before uvicorn would (it exits the process on a bind error)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                raise PortInUse(error.errno, f"port {port} is not free on {host}") from error
            raise


def build_simulator(clock: WallClock, seed: int) -> PipecatSimulator:
    sim = PipecatSimulator(api_key=PIPECAT_KEY, clock=clock, seed=seed)
    for profile in PROFILES:
        sim.add_agent(profile.name)
    demo_scenarios.set_up(sim)  # before the history: its failures already tell their causes
    seed_history(sim, random.Random(seed))
    return sim


def build_standin(clock: WallClock | None = None) -> SlackStandIn:
    """Message timestamps follow the demo's clock (the wall clock, unless a test moves it)."""
    standin = SlackStandIn(bot_token=BOT_TOKEN, clock=clock.now if clock is not None else None)
    for channel_id, name in CHANNELS:
        channel = standin.add_channel(channel_id, name)
        channel.members.update({ME.id, COLLEAGUE.id})
    return standin


def seed_conversation(standin: SlackStandIn, sim: PipecatSimulator) -> None:
    """A couple of human messages, so the shortcut has something to work on from the start."""
    dropped = add_failed_session(sim, "support-bot", seconds_ago=1500)
    standin.add_message(
        ONCALL_CHANNEL,
        "Morning! This channel watches *voice-bot*: failed sessions show up here as incidents. "
        "Try `/session list voice-bot errors` or `/session stats voice-bot 1h`.",
        user=COLLEAGUE.id,
    )
    standin.add_message(
        SUPPORT_CHANNEL,
        f"A customer says their call dropped right after it started (support-bot, session {dropped}). "
        "Can someone check?",
        user=COLLEAGUE.id,
    )


def settings_for(
    sim_url: str, slack_url: str, data_dir: Path, pagerduty_url: str | None = None, webhook_secret: str | None = None
) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"{slack_url}/api/",
        pipecat_api_key=PIPECAT_KEY,
        pipecat_api_url=f"{sim_url}/v1",
        database_url=f"sqlite:///{data_dir / 'demo.db'}",
        poll_interval_seconds=POLL_INTERVAL_SECONDS,
        pagerduty_routing_key=DEFAULT_ROUTING_KEY if pagerduty_url else None,
        pagerduty_events_url=pagerduty_url or "https://events.pagerduty.com/v2/enqueue",
        agent_status_interval_seconds=STATUS_INTERVAL_SECONDS,
        pipecat_webhook_secret=webhook_secret,
    )


@contextlib.asynccontextmanager
async def run_demo_stack(
    *, port: int = 0, traffic: bool = True, scheduler: bool = True, seed: int = 42, busy_history: bool | None = None
) -> AsyncIterator[DemoStack]:
    """Start everything on 127.0.0.1 (the page on `port`, the rest on ephemeral ports); stop it all
    on exit, in reverse order. `busy_history` (default: with live traffic) plays the busy agent's
    history through the app before anything else starts."""
    from bot.app import build_runtime  # the whole app: imported only when a demo really starts

    check_port_free(port)
    busy_history = traffic if busy_history is None else busy_history
    clock = WallClock()
    sim = build_simulator(clock, seed)
    if busy_history:  # back to the start of the busy agent's history: replay_history ends at now
        clock.advance(-HISTORY.total_seconds())
    rates = RateStory(sim)
    standin = build_standin(clock)
    async with contextlib.AsyncExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pipecat-ops-demo-")))
        sim_url = await stack.enter_async_context(serve(sim.app))
        stack.callback(sim.release_hangs)
        slack_url = await stack.enter_async_context(serve(standin.app))
        standin.base_url = slack_url
        stack.callback(standin.release_hangs)
        pagerduty = PagerDutyStandIn()
        pagerduty_url = await stack.enter_async_context(serve(pagerduty.app))

        settings = settings_for(sim_url, slack_url, data_dir, f"{pagerduty_url}/v2/enqueue", sim.webhooks.secret)
        runtime = build_runtime(settings, clock=clock, demo_rates=True)
        await runtime.start(with_scheduler=False)
        stack.push_async_callback(runtime.stop)
        await runtime.deps.alerts.watch(BUSY_CHANNEL, rates.agent, None, None, COLLEAGUE.id)
        if busy_history:  # muted meanwhile: a replayed past is counted, not posted to Slack again
            commands = runtime.deps.alerts
            await commands.mute(BUSY_CHANNEL, rates.agent, HISTORY, COLLEAGUE.id)
            await replay_history(rates, clock, runtime.jobs.run_cycle)
            await commands.unmute(BUSY_CHANNEL, rates.agent)
        await runtime.deps.alerts.watch(ONCALL_CHANNEL, WATCHED_AGENT, None, None, COLLEAGUE.id, page=True)
        app_url = await stack.enter_async_context(serve(runtime.asgi(with_scheduler=False)))
        sim.webhooks.url = f"{app_url}/webhooks/pipecat"  # Pipecat Cloud's webhooks reach the app

        player = SlackPlayer(app_url, standin, SIGNING_SECRET, ME)
        stack.push_async_callback(player.close)
        seed_conversation(standin, sim)
        users = {
            standin.bot_user_id: {"name": "pipecat-ops", "bot": True},
            ME.id: {"name": ME.name, "bot": False},
            COLLEAGUE.id: {"name": COLLEAGUE.name, "bot": False},
        }
        context = PageContext(
            standin=standin,
            sim=sim,
            player=player,
            users=users,
            topics=dict(TOPICS),
            watched=runtime.deps.alerts.watched_agents,
            pagerduty=pagerduty,
            plays=rates,
        )
        page_url = await stack.enter_async_context(serve(build_page_app(context), port=port))

        if scheduler:  # the app's own timer, on the running loop (stopped by runtime.stop)
            runtime.start_scheduler()
        else:
            await stack.enter_async_context(_delivery_on_wake(runtime))
        generator = Traffic(sim) if traffic else None
        story = HealthStory(sim, WATCHED_AGENT)
        if generator is not None:
            generator.start()
            for scenario in demo_scenarios.SCENARIOS:
                if scenario.burst is not None:
                    generator.spawn(scenario.burst(sim, scenario.agent, random.Random(seed)))
            generator.spawn(live_traffic(rates))
            stack.push_async_callback(generator.stop)
        yield DemoStack(
            sim=sim,
            standin=standin,
            runtime=runtime,
            pagerduty=pagerduty,
            player=player,
            clock=clock,
            traffic=generator,
            health=story,
            rates=rates,
            page_url=page_url,
            app_url=app_url,
            data_dir=data_dir,
        )


@contextlib.asynccontextmanager
async def _delivery_on_wake(runtime: Runtime) -> AsyncIterator[None]:
    """Without the scheduler nothing answers the alert service's wake (a button's edit that found
    the channel busy, rows a command enqueued): deliver in the background, as the delivery job
    would. Polls still run only when a test asks."""
    alerts = runtime.jobs
    running: set[asyncio.Task[None]] = set()

    def wake() -> None:
        task = asyncio.get_running_loop().create_task(alerts.run_delivery())
        running.add(task)
        task.add_done_callback(running.discard)

    alerts.set_delivery_waker(wake)
    try:
        yield
    finally:
        alerts.set_delivery_waker(None)
        await asyncio.gather(*running, return_exceptions=True)
