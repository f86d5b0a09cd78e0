"""`python -m bot check`: is this deployment configured to work?

One line per check, each failure with its fix; exit 0 when all pass, 1 otherwise, 2 on bad
settings. Every line goes through the log redactor: a secret is never printed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Settings, SettingsError, load_settings
from bot.contracts.scopes import MANIFEST_BOT_SCOPES
from bot.ops.logs import Redactor
from bot.pipecat.client import PipecatClient, build_http_client
from bot.pipecat.errors import PipecatError, Unauthorized, Unreachable
from bot.store import Store
from bot.webhooks.receive import ROUTE as WEBHOOK_ROUTE

EXIT_OK, EXIT_FAILED, EXIT_SETTINGS = 0, 1, 2
CHECK_TIMEOUT_SECONDS = 10.0
DB_TIMEOUT_SECONDS = 5.0
#: Slack's answers that mean the token itself is not good.
BAD_TOKEN = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
}


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def granted_scopes(headers: object) -> set[str] | None:
    """The `x-oauth-scopes` header of a Web API answer (any case), or None when absent."""
    items = getattr(headers, "items", None)  # a dict, or aiohttp's case-insensitive multidict
    for key, value in items() if callable(items) else []:
        if str(key).lower() == "x-oauth-scopes":
            raw = value[0] if isinstance(value, list | tuple) else value
            return {s.strip() for s in str(raw).split(",") if s.strip()}
    return None


def scope_verdict(granted: set[str] | None, identity: str) -> Result:
    """Pure: the granted scopes against the manifest's."""
    if granted is None:
        return Result("slack", True, f"{identity}; Slack sent no x-oauth-scopes header, scopes not compared")
    missing = sorted(set(MANIFEST_BOT_SCOPES) - granted)
    extra = sorted(granted - set(MANIFEST_BOT_SCOPES))
    if missing:
        return Result(
            "slack",
            False,
            f"{identity}, but the token lacks {', '.join(missing)}: add them under OAuth & Permissions → Bot Token "
            "Scopes (or re-create the app from manifest.yaml) and reinstall it to the workspace",
        )
    note = f" (also granted, not needed: {', '.join(extra)})" if extra else ""
    return Result("slack", True, f"{identity}; scopes match the manifest{note}")


async def check_slack(settings: Settings) -> Result:
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=int(CHECK_TIMEOUT_SECONDS),
        retry_handlers=[],
    )
    try:
        answer = await client.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error", "")) if hasattr(error.response, "get") else ""
        if code in BAD_TOKEN:
            return Result(
                "slack",
                False,
                f"SLACK_BOT_TOKEN was refused ({code}): install the app to the workspace and copy the Bot User "
                "OAuth Token (xoxb-…) from OAuth & Permissions",
            )
        return Result(
            "slack", False, f"auth.test failed ({code or error.response.status_code}): retry, or see status.slack.com"
        )
    except (aiohttp.ClientError, OSError) as error:  # unreachable (TimeoutError is an OSError)
        return Result(
            "slack",
            False,
            f"cannot reach Slack at SLACK_API_URL ({type(error).__name__}): check the URL and the network",
        )
    identity = f"authenticated as {answer.get('user')} in {answer.get('team')} ({answer.get('team_id')})"
    return scope_verdict(granted_scopes(answer.headers), identity)


async def check_pipecat(settings: Settings) -> Result:
    http = build_http_client(settings.pipecat_api_url, settings.pipecat_api_key.get_secret_value())
    try:
        agents = await PipecatClient(http).list_agents()
    except Unauthorized as error:
        return Result(
            "pipecat",
            False,
            f"PIPECAT_API_KEY was refused ({error.status or 401}): create a Private key under Settings → API keys "
            "in the Pipecat Cloud dashboard (a public key cannot read sessions)",
        )
    except Unreachable as error:
        return Result(
            "pipecat", False, f"cannot reach PIPECAT_API_URL ({error.user_message}): check the URL and the network"
        )
    except PipecatError as error:
        return Result("pipecat", False, f"GET /agents failed ({error.user_message})")
    finally:
        await http.aclose()
    return Result("pipecat", True, f"GET /agents answered: {len(agents)} agent(s)")


async def check_database(settings: Settings) -> Result:
    try:
        store = Store.from_url(settings.database_url)
    except SettingsError as error:
        return Result("database", False, str(error))
    try:
        await asyncio.wait_for(store.ping(), DB_TIMEOUT_SECONDS)
    except TimeoutError:
        return Result(
            "database", False, f"DATABASE_URL did not answer within {DB_TIMEOUT_SECONDS:g}s: is the server running?"
        )
    except (SQLAlchemyError, OSError) as error:  # the driver's refusal, wrapped by SQLAlchemy
        cause = getattr(error, "orig", None) or error
        first = (str(cause).strip().splitlines() or [""])[0][:200]
        return Result(
            "database",
            False,
            f"cannot open DATABASE_URL ({type(cause).__name__}: {first}): check host, port, credentials and that "
            "the server is running",
        )
    finally:
        await store.dispose()
    return Result("database", True, f"{store.dialect} answered")


async def check_socket_mode(settings: Settings) -> Result:
    """Socket Mode only: the app-level token must open a connection (apps.connections.open hands out
    a WebSocket URL; nothing connects to it)."""
    assert settings.slack_app_token is not None
    client = AsyncWebClient(base_url=settings.slack_api_url, timeout=int(CHECK_TIMEOUT_SECONDS), retry_handlers=[])
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except SlackApiError as error:
        code = str(error.response.get("error", "")) if hasattr(error.response, "get") else ""
        return Result(
            "socket-mode",
            False,
            f"SLACK_APP_TOKEN was refused ({code or error.response.status_code}): create an App-Level Token with "
            "the connections:write scope under Basic Information → App-Level Tokens, and turn Socket Mode on",
        )
    except (aiohttp.ClientError, OSError) as error:  # unreachable (TimeoutError is an OSError)
        return Result("socket-mode", False, f"cannot reach Slack at SLACK_API_URL ({type(error).__name__})")
    return Result("socket-mode", True, "the app-level token opens a Socket Mode connection")


def webhook_verdict(settings: Settings) -> Result:
    """Pure: whether Pipecat Cloud webhooks are set up, and the URL to register (webhooks are a
    bonus: polling works without them, so this never fails)."""
    where = (
        f"this app's port {settings.port} (the server that answers /healthz), behind your HTTPS address"
        if settings.socket_mode
        else "the host of Slack's Request URL (…/slack/events → …/webhooks/pipecat)"
    )
    url = f"https://<this app's public host>{WEBHOOK_ROUTE}, on {where}"
    if settings.pipecat_webhook_secret is not None:
        return Result("webhooks", True, f"PIPECAT_WEBHOOK_SECRET is set; the endpoint to register is {url}")
    return Result(
        "webhooks",
        True,
        "off (PIPECAT_WEBHOOK_SECRET not set): deploys are learnt by polling, spend limits not at all. To turn "
        f"them on, add {url} under Settings → Webhooks → Add endpoint in the Pipecat Cloud dashboard, pick the "
        "events, and set PIPECAT_WEBHOOK_SECRET to its signing secret (whsec_…)",
    )


async def run_checks(settings: Settings) -> list[Result]:
    mode = "Socket Mode" if settings.socket_mode else f"HTTP mode on port {settings.port}"
    results = [Result("settings", True, f"{mode}, polling every {settings.poll_interval_seconds:g}s")]
    checks = [check_slack(settings), check_pipecat(settings), check_database(settings)]
    if settings.socket_mode:
        checks.insert(1, check_socket_mode(settings))
    results += await asyncio.gather(*checks)
    results.append(webhook_verdict(settings))
    return results


def main(emit: Callable[[str], None] = print, load: Callable[[], Settings] = load_settings) -> int:
    try:
        settings = load()
    except SettingsError as error:
        emit(Result("settings", False, f"{error} (see README: Settings)").line())
        return EXIT_SETTINGS
    redact = Redactor(settings.secret_values())
    results = asyncio.run(run_checks(settings))
    for result in results:
        emit(redact(result.line()))
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


__all__ = ["MANIFEST_BOT_SCOPES", "Result", "granted_scopes", "main", "run_checks", "scope_verdict"]
