"""The two settings `python -m bot lookup` needs, read without pydantic-settings when the
environment alone plainly gives them (issue 15: loading the settings class costs the terminal
more than its request). The rules are the ones bot/config.py's PipecatSettings applies, defined
here once for both. Whenever that class has something to decide (a `.env` file to read, a
missing, blank or malformed value, the same name in two cases), or httpx would (a proxy),
this returns None, and the caller loads bot.config's settings, which read it or word
the error as at every other start, and makes the request with the app's own client."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

DEFAULT_PIPECAT_API_URL = "https://api.pipecat.daily.co/v1"
#: Where PipecatSettings looks for a dotenv file (relative to the working directory).
ENV_FILE = ".env"
#: Proxies httpx honours (trust_env, any case, with NO_PROXY): with one set the lookup takes the
#: app's own httpx client, so the request goes where it would from the app.
PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy"})


def is_http_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def normalise_url(value: str) -> str:
    return value.rstrip("/")


def is_blank(value: str) -> bool:
    return not value.strip()


class PlainPipecatSettings(NamedTuple):
    """Enough for the plain request; None from the reader means: use bot.config and the client.
    `ca_file`/`ca_dir`: the TLS roots as httpx picks them (SSL_CERT_FILE, else SSL_CERT_DIR, as
    httpx reads them, exact names; neither: certifi's bundle, httpx's default)."""

    api_url: str
    api_key: str
    ca_file: str | None = None
    ca_dir: str | None = None

    def __repr__(self) -> str:  # the key is a secret: never in a log line or a traceback
        return f"PlainPipecatSettings(api_url={self.api_url!r}, api_key='**********', ca_file={self.ca_file!r})"


class _Ambiguous(Exception):
    pass


def _lookup(environ: Mapping[str, str], name: str) -> str | None:
    """The variable in any case, as the case-insensitive settings class reads it; two spellings
    at once are for that class to settle."""
    found = [value for key, value in environ.items() if key.lower() == name]
    if len(found) > 1:
        raise _Ambiguous
    return found[0] if found else None


def read_plain_pipecat_settings(
    environ: Mapping[str, str] | None = None, *, env_file: str = ENV_FILE
) -> PlainPipecatSettings | None:
    if os.path.exists(env_file):
        return None
    env = os.environ if environ is None else environ
    if any(key.lower() in PROXY_VARIABLES and value for key, value in env.items()):
        return None
    try:
        key = _lookup(env, "pipecat_api_key")
        url = _lookup(env, "pipecat_api_url")
    except _Ambiguous:
        return None
    if key is None or is_blank(key):
        return None
    if url is None:
        url = DEFAULT_PIPECAT_API_URL
    elif not is_http_url(url):
        return None
    ca_file = env.get("SSL_CERT_FILE") or None
    ca_dir = None if ca_file else env.get("SSL_CERT_DIR") or None
    return PlainPipecatSettings(api_url=normalise_url(url), api_key=key, ca_file=ca_file, ca_dir=ca_dir)
