"""Command line: `python -m bot` (run), `demo`, `lookup <agent> <id>`, `check`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

# Not bot.config: `lookup` must start without pydantic-settings (issue 15); bot.config re-exports it.
from bot.contracts.errors import SettingsError

if TYPE_CHECKING:
    from bot.config_plain import PlainPipecatSettings
    from bot.pipecat.facts import SessionFacts

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _configure_logging(level: str = "INFO", fmt: str = "auto", secrets: Sequence[str] = ()) -> None:
    import logging

    from bot.ops.logs import configure_logging

    configure_logging(fmt=fmt, level=level, secrets=secrets)
    # Two lines per alert cycle from APScheduler drown what matters; its warnings still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Bolt reads SLACK_BOT_TOKEN itself and warns that the client we pass wins; it always does.
    logging.getLogger("slack_bolt.AsyncApp").addFilter(
        lambda record: "`token` will be unused" not in record.getMessage()
    )


def run_app() -> int:
    from bot.config import load_settings

    settings = load_settings()  # fail fast, before importing the heavy parts

    import asyncio
    import logging

    import uvicorn

    from bot.app import build_runtime, run_socket_mode

    _configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    runtime = build_runtime(settings)
    if settings.socket_mode:
        logging.getLogger("bot").info("starting in Socket Mode")
        asyncio.run(run_socket_mode(runtime))
    else:
        logging.getLogger("bot").info("starting in HTTP mode on port %d", settings.port)
        uvicorn.run(runtime.asgi(), host="0.0.0.0", port=settings.port, log_level="warning")
    return EXIT_OK


def run_lookup(agent: str, session_id: str, *, as_json: bool) -> int:
    """One session in the terminal, importing only what that needs (issue 15) when the
    environment plainly gives the settings: one blocking request (bot.pipecat.oneshot), the plain
    reading of the answer, pydantic only for what only the model can decide and for --json.
    Otherwise (a .env file, a bad setting, a proxy) the settings class and the app's client."""
    from bot.config_plain import read_plain_pipecat_settings
    from bot.pipecat.errors import InvalidInput, PipecatError

    plain = read_plain_pipecat_settings()
    try:
        if plain is None:
            printed = _lookup_with_the_client(agent, session_id, as_json=as_json)
        else:
            printed = _lookup_plainly(plain, agent, session_id, as_json=as_json)
    except InvalidInput as error:
        print(f"error: {_safe(error.user_message)}", file=sys.stderr)
        return EXIT_USAGE
    except PipecatError as error:
        print(f"error: {_safe(error.user_message)}", file=sys.stderr)
        return EXIT_FAILED
    print(printed)
    return EXIT_OK


def _lookup_plainly(plain: PlainPipecatSettings, agent: str, session_id: str, *, as_json: bool) -> str:
    from bot.pipecat.facts import with_session_id
    from bot.pipecat.oneshot import Options, get_session_payload
    from bot.pipecat.plain import read_session

    options = Options(ca_file=plain.ca_file, ca_dir=plain.ca_dir)
    answer = get_session_payload(plain.api_url, plain.api_key, agent, session_id, options)
    payload = with_session_id(answer, session_id.lower())  # the spec leaves sessionId optional
    session = None if as_json else read_session(payload)
    if session is None:
        from bot.pipecat.models import Session, parse

        model = parse(Session, payload)
        if as_json:
            return _json(model.model_dump(mode="json", by_alias=True))
        return _text(agent, model)
    return _text(agent, session)


def _lookup_with_the_client(agent: str, session_id: str, *, as_json: bool) -> str:
    import asyncio

    from bot.config import load_pipecat_settings
    from bot.pipecat.client import PipecatClient, build_http_client

    settings = load_pipecat_settings()  # reads .env, or names the bad variable (exit 2)

    async def fetch() -> str:
        http = build_http_client(settings.pipecat_api_url, settings.pipecat_api_key.get_secret_value())
        try:
            session = await PipecatClient(http).get_session(agent, session_id)
        finally:
            await http.aclose()
        return _json(session.model_dump(mode="json", by_alias=True)) if as_json else _text(agent, session)

    return asyncio.run(fetch())


def _text(agent: str, session: SessionFacts) -> str:
    from bot.terminal import render_session_text

    return render_session_text(agent, session)


def _json(data: object) -> str:
    from bot.terminal import terminal_json

    return terminal_json(data)


def _safe(message: str) -> str:
    """An error may quote the API's answer: masked and cleaned like the session text."""
    from bot.terminal import terminal_text

    return terminal_text(message)


def run_demo(port: int) -> int:
    from bot.sandbox.demo import main as demo_main

    return demo_main(port=port)


def run_check() -> int:
    from bot.ops.check import main as check_main

    return check_main()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="pipecat-ops Slack app")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the app (default)")
    demo = sub.add_parser("demo", help="the whole app on this machine, no Slack or Pipecat account")
    demo.add_argument("--port", type=int, default=8080)
    lookup = sub.add_parser("lookup", help="show one session in the terminal")
    lookup.add_argument("agent")
    lookup.add_argument("session_id")
    lookup.add_argument("--json", action="store_true", help="print the session as JSON")
    sub.add_parser("check", help="check the settings, Slack, Pipecat and the database; one line each")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "lookup":
            return run_lookup(args.agent, args.session_id, as_json=args.json)
        if args.command == "demo":
            return run_demo(args.port)
        if args.command == "check":
            return run_check()
        return run_app()
    except SettingsError as error:
        print(f"pipecat-ops: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
