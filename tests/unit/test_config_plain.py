"""The lookup's plain settings reading: it gives what bot.config's PipecatSettings would give from
the same environment, and leaves every case that class must decide (a .env file, a missing, blank
or malformed value, two spellings of one name) to it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import SettingsError, load_pipecat_settings
from bot.config_plain import DEFAULT_PIPECAT_API_URL, read_plain_pipecat_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("PIPECAT_") or name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"PIPECAT_API_KEY": "pk_1"}, DEFAULT_PIPECAT_API_URL),
        ({"PIPECAT_API_KEY": "pk_1", "PIPECAT_API_URL": "http://127.0.0.1:9/v1/"}, "http://127.0.0.1:9/v1"),
        ({"pipecat_api_key": "pk_1", "Pipecat_Api_Url": "https://x.test/v1"}, "https://x.test/v1"),
    ],
)
def test_a_plain_environment_reads_as_the_settings_class_reads_it(
    env: dict[str, str], url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    plain = read_plain_pipecat_settings()
    assert plain is not None and (plain.api_url, plain.api_key) == (url, "pk_1")
    settings = load_pipecat_settings()
    assert (settings.pipecat_api_url, settings.pipecat_api_key.get_secret_value()) == (plain.api_url, plain.api_key)


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"PIPECAT_API_KEY": "   "},
        {"PIPECAT_API_KEY": "pk_1", "PIPECAT_API_URL": "ftp://x.test"},
        {"PIPECAT_API_KEY": "pk_1", "PIPECAT_API_URL": ""},
    ],
)
def test_what_the_settings_class_refuses_is_left_to_it(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert read_plain_pipecat_settings() is None
    with pytest.raises(SettingsError, match="PIPECAT_API_"):
        load_pipecat_settings()  # ... which names the variable, as at every start


def test_two_spellings_of_one_name_are_left_to_the_settings_class() -> None:
    env = {"PIPECAT_API_KEY": "pk_1", "pipecat_api_key": "pk_2"}
    assert read_plain_pipecat_settings(env) is None


def test_a_dotenv_file_is_left_to_the_settings_class(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PIPECAT_API_KEY=pk_from_file\n")
    assert read_plain_pipecat_settings({"PIPECAT_API_KEY": "pk_1"}) is None
    assert load_pipecat_settings().pipecat_api_key.get_secret_value() == "pk_from_file"


@pytest.mark.parametrize("name", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_sends_the_lookup_through_httpx(name: str) -> None:
    """httpx honours proxies (and NO_PROXY); the plain request does not, so it steps aside."""
    assert read_plain_pipecat_settings({"PIPECAT_API_KEY": "pk_1", name: "http://proxy.test:3128"}) is None
    assert read_plain_pipecat_settings({"PIPECAT_API_KEY": "pk_1", name: ""}) is not None


@pytest.mark.parametrize(
    ("env", "roots"),
    [
        ({}, (None, None)),
        ({"SSL_CERT_FILE": "/etc/ca.pem", "SSL_CERT_DIR": "/etc/certs"}, ("/etc/ca.pem", None)),
        ({"SSL_CERT_DIR": "/etc/certs"}, (None, "/etc/certs")),
        ({"SSL_CERT_FILE": "", "SSL_CERT_DIR": "/etc/certs"}, (None, "/etc/certs")),
    ],
)
def test_tls_roots_are_picked_as_httpx_picks_them(env: dict[str, str], roots: tuple[str | None, str | None]) -> None:
    plain = read_plain_pipecat_settings({"PIPECAT_API_KEY": "pk_1", **env})
    assert plain is not None and (plain.ca_file, plain.ca_dir) == roots


def test_the_key_is_not_in_its_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPECAT_API_KEY", "pk_secret_value")
    plain = read_plain_pipecat_settings()
    assert plain is not None and "pk_secret_value" not in repr(plain) and "pk_secret_value" not in str(plain)
