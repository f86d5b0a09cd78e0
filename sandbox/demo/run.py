"""`python -m bot demo`: the whole app on this machine, no Slack workspace or Pipecat key needed.

One process, one event loop: the Pipecat Cloud simulator (three agents and a steady trickle of
sessions, and call-center, a busy agent taking a call a second), the Slack Web API stand-in
(#voice-oncall, already watching voice-bot, #support, and #call-center watching call-center), the
real app in HTTP mode wired to both (SQLite in a temporary directory, 5 s poll interval), and a
local page that shows the channels as Slack would, sends what you do there to the app as signed
Slack requests, and plays the rate scenarios (sandbox/demo/rates.py). Ctrl-C stops it all.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from sandbox.demo.stack import DemoStack, PortInUse, run_demo_stack

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED = 0, 1


def _configure_logging() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bot").setLevel(logging.INFO)
    # Each poll cycle and delivery logs at INFO; the page shows the outcome, so keep the terminal calm.
    logging.getLogger("bot.alerts").setLevel(logging.WARNING)


#: The agent the terminal instructions look a session up on (one of the demo's profiles).
TERMINAL_AGENT = "voice-bot"


def terminal_instructions(demo: DemoStack) -> list[str]:
    """How to try `python -m bot lookup` and `check` against this demo from another shell: the
    simulator's URL and key (demo values, not secrets), the stand-in's, and the demo's database."""
    settings = demo.runtime.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    sessions = demo.sim.agent(TERMINAL_AGENT).sessions.values()
    failed = [s for s in sessions if s.ended_at is not None and s.completion_status != "HTTP_COMPLETED"]
    example = max(failed or sessions, key=lambda s: s.created_at).session_id
    return [
        "",
        "Try the terminal against it, in another shell:",
        f"  export PIPECAT_API_URL={settings.pipecat_api_url} "
        f"PIPECAT_API_KEY={settings.pipecat_api_key.get_secret_value()} PIPECAT_DEFAULT_AGENT={TERMINAL_AGENT}",
        f"  python -m bot lookup {TERMINAL_AGENT} {example}      (or: python -m bot lookup {example[:8]}…)",
        f"  export SLACK_BOT_TOKEN={settings.slack_bot_token.get_secret_value()} "
        f"SLACK_SIGNING_SECRET={secret} "
        f"SLACK_API_URL={settings.slack_api_url} DATABASE_URL={settings.database_url}",
        "  python -m bot check",
        "",
    ]


async def serve_demo(port: int, *, ready: asyncio.Event | None = None) -> int:
    stop = asyncio.Event()
    try:
        async with run_demo_stack(port=port) as demo:
            loop = asyncio.get_running_loop()
            # Installed after the servers started: uvicorn swaps in its own handlers while starting.
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            print(f"pipecat-ops demo is running: open {demo.page_url}/", flush=True)
            print("Slack and Pipecat Cloud are simulated; the app is the real one. Ctrl-C to stop.", flush=True)
            print("\n".join(terminal_instructions(demo)), flush=True)
            if ready is not None:
                ready.set()
            try:
                await stop.wait()
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
            print("stopping…", flush=True)
    except PortInUse as error:
        print(f"pipecat-ops demo: {error.strerror}; choose another with --port N (0: any free port)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def main(port: int = 8080) -> int:
    _configure_logging()
    try:
        return asyncio.run(serve_demo(port))
    except KeyboardInterrupt:  # Ctrl-C before the handlers were in place
        return EXIT_OK
