"""Command line: `python -m bot` (run), `demo`, `lookup <agent> <id>` (or any form `/session` takes), `check`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

# Not bot.config: `lookup` must start without pydantic-settings (issue 15); bot.config re-exports it.
from bot.contracts.errors import SettingsError

if TYPE_CHECKING:
    from bot.cli_lookup import Get
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

    import logging

    import uvicorn

    from bot.app import build_runtime, run_socket_mode, server_options

    _configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    runtime = build_runtime(settings)
    if settings.socket_mode:
        logging.getLogger("bot").info("starting in Socket Mode")
        _run_on_fastest_loop(run_socket_mode(runtime))
    else:
        logging.getLogger("bot").info("starting in HTTP mode on port %d", settings.port)
        uvicorn.run(runtime.asgi(freeze_heap=True), **server_options(settings))
    return EXIT_OK


def _run_on_fastest_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop's event loop where it is installed, as uvicorn picks for HTTP mode; asyncio's own
    elsewhere (uvloop has no Windows build)."""
    try:
        import uvloop
    except ImportError:
        import asyncio

        asyncio.run(main)
    else:
        uvloop.run(main)


def run_lookup(words: Sequence[str], *, as_json: bool) -> int:
    """One session in the terminal, importing only what that needs (issue 15) when the
    environment plainly gives the settings: blocking requests (bot.pipecat.oneshot), the plain
    reading of the answer, pydantic only for what only the model can decide and for --json.
    Otherwise (a .env file, a bad setting, a proxy) the settings class and the app's client.

    `words` take every form `/session` does (bot/cli_lookup.py): `<agent> <id>`, `<agent>/<id>`, a
    dashboard URL, an id alone with PIPECAT_DEFAULT_AGENT; an id may be the short one the app
    prints. A 404 says whether the agent or the session is missing; a failed session's text shows
    its cause, read from its log."""
    from bot.cli_lookup import Missing, Usage
    from bot.config_plain import read_plain_pipecat_settings
    from bot.pipecat.errors import InvalidInput, PipecatError, Unreachable

    plain = read_plain_pipecat_settings()
    url = plain.api_url if plain is not None else None
    try:
        if plain is None:
            printed = _lookup_with_the_client(words, as_json=as_json)
        else:
            printed = _lookup_plainly(plain, words, as_json=as_json)
    except (Usage, InvalidInput) as error:
        print(f"error: {_safe(str(error) if isinstance(error, Usage) else error.user_message)}", file=sys.stderr)
        return EXIT_USAGE
    except Missing as error:
        print(f"error: {_safe(str(error))}", file=sys.stderr)
        return EXIT_FAILED
    except _CannotReach as error:
        print(f"error: cannot reach {_safe(error.url)}: {_safe(error.why)}", file=sys.stderr)
        return EXIT_FAILED
    except Unreachable as error:  # the plain path: its URL is known here
        print(f"error: cannot reach {_safe(url or '')}: {_safe(error.user_message)}", file=sys.stderr)
        return EXIT_FAILED
    except PipecatError as error:
        print(f"error: {_safe(error.user_message)}", file=sys.stderr)
        return EXIT_FAILED
    print(printed)
    return EXIT_OK


class _CannotReach(Exception):
    def __init__(self, url: str, why: str) -> None:
        super().__init__(why)
        self.url, self.why = url, why


def _default_agent() -> str | None:
    import os

    return next((v for k, v in os.environ.items() if k.lower() == "pipecat_default_agent" and v.strip()), None)


def _find(get: Get, words: Sequence[str], default_agent: str | None) -> tuple[str, str, object]:
    """(agent, full id, the session's decoded JSON), telling a missing agent from a missing session."""
    from bot.cli_lookup import parse_target, resolve_short, what_is_missing
    from bot.contracts.names import is_session_id
    from bot.pipecat.errors import NotFound
    from bot.pipecat.validation import check_agent, session_path

    agent, session_id = parse_target(words, default_agent)
    check_agent(agent)  # InvalidInput (exit 2) before any request
    try:
        if not is_session_id(session_id):
            session_id = resolve_short(get, agent, session_id)
        return agent, session_id, get(session_path(agent, session_id))
    except NotFound:
        raise what_is_missing(get, agent, session_id) from None


def _described(get: Get, agent: str, session: SessionFacts) -> str:
    """The session's text; a failed one's with its cause, read from its log (one request)."""
    from bot.contracts.outcomes import is_failed
    from bot.terminal import render_session_text

    failed = is_failed(session.completion_status, session.end_state, active=session.is_active)
    cause = None
    if failed:
        from bot.cli_lookup import cause_lines

        cause = cause_lines(get, agent, session.session_id.lower())
    return render_session_text(agent, session, cause, failed=failed)


def _lookup_plainly(plain: PlainPipecatSettings, words: Sequence[str], *, as_json: bool) -> str:
    from bot.pipecat.facts import with_session_id
    from bot.pipecat.oneshot import Options, get_json
    from bot.pipecat.plain import read_session

    options = Options(ca_file=plain.ca_file, ca_dir=plain.ca_dir)

    def get(path: str) -> object:
        return get_json(plain.api_url, plain.api_key, path, options)

    agent, session_id, answer = _find(get, words, _default_agent())
    payload = with_session_id(answer, session_id)  # the spec leaves sessionId optional
    session = None if as_json else read_session(payload)
    if session is None:
        from bot.pipecat.models import Session, parse

        model = parse(Session, payload)
        if as_json:
            return _json(model.model_dump(mode="json", by_alias=True))
        return _described(get, agent, model)
    return _described(get, agent, session)


def _lookup_with_the_client(words: Sequence[str], *, as_json: bool) -> str:
    import asyncio

    import httpx

    from bot.config import load_pipecat_settings
    from bot.pipecat.client import PipecatClient, build_http_client
    from bot.pipecat.errors import Unreachable
    from bot.pipecat.models import Session, parse, with_session_id

    settings = load_pipecat_settings()  # reads .env, or names the bad variable (exit 2)
    loop = asyncio.new_event_loop()  # one loop for every request: the client's pool lives on it

    async def build() -> httpx.AsyncClient:  # the transport is made on the loop that will use it
        return build_http_client(settings.pipecat_api_url, settings.pipecat_api_key.get_secret_value())

    http = loop.run_until_complete(build())
    client = PipecatClient(http)

    def get(path: str) -> object:
        return loop.run_until_complete(client.get_path(path))

    try:
        agent, session_id, answer = _find(get, words, settings.pipecat_default_agent)
        session = parse(Session, with_session_id(answer, session_id))
        if as_json:
            return _json(session.model_dump(mode="json", by_alias=True))
        return _described(get, agent, session)
    except Unreachable as error:
        raise _CannotReach(settings.pipecat_api_url, error.user_message) from None
    finally:
        loop.run_until_complete(http.aclose())
        loop.close()


def _json(data: object) -> str:
    from bot.terminal import terminal_json

    return terminal_json(data)


def _safe(message: str) -> str:
    """An error may quote the API's answer: masked and cleaned like the session text."""
    from bot.terminal import terminal_text

    return terminal_text(message)


def run_demo(port: int) -> int:
    """The demo lives beside the product, in the `sandbox` package of the same distribution: it is
    loaded by name, so the product never imports it and runs without it."""
    import importlib

    try:
        demo = importlib.import_module("sandbox.demo.run")
    except ModuleNotFoundError as error:
        if error.name is None or not error.name.startswith("sandbox"):
            raise
        print("the demo needs the sandbox package: install the project (pip install -e .) from its checkout")
        return 2
    code: int = demo.main(port=port)
    return code


def run_check() -> int:
    from bot.probes.check import main as check_main

    return check_main()


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="pipecat-ops Slack app")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the app (default)")
    demo = sub.add_parser("demo", help="the whole app on this machine, no Slack or Pipecat account")
    demo.add_argument("--port", type=int, default=8080)
    lookup = sub.add_parser("lookup", help="show one session in the terminal")
    lookup.add_argument(
        "target",
        nargs="+",
        metavar="<agent> <session-id> | <agent>/<session-id> | URL | <session-id>",
        help="any form /session takes; a short id (3e896c64…) is matched against the agent's recent sessions",
    )
    lookup.add_argument("--json", action="store_true", help="print the session as JSON")
    sub.add_parser("check", help="check the settings, Slack, Pipecat and the database; one line each")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        if args.command == "lookup":
            return run_lookup(args.target, as_json=args.json)
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
