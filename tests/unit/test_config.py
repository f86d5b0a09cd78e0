"""Settings: one clear line naming the variable, exit code 2, secrets never shown."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.config import SettingsError, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "PIPECAT_API_KEY": "pk_secret_value", "SLACK_SIGNING_SECRET": "s3cr3t"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "PIPECAT_", "DATABASE_", "POLL_", "ALERT_", "HTTP_")) or name == "PORT":
            monkeypatch.delenv(name)
    monkeypatch.chdir(str(tmp_path))  # no stray .env


def set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in {**BASE, **values}.items():
        monkeypatch.setenv(name, value)


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)
    settings = load_settings()
    assert settings.database_url == "sqlite:///pipecat-ops.db"
    assert settings.port == 3000
    assert settings.poll_interval_seconds == 60
    assert settings.alert_status_set == frozenset({"HTTP_ERROR"})
    assert settings.pipecat_api_url == "https://api.pipecat.daily.co/v1"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert not settings.socket_mode


#: The longest idle timeout of the proxies most often in front of the app (an AWS ALB's default is
#: 60 s, Heroku's router's 90 s).
PROXY_IDLE_SECONDS = 90


def test_the_server_keeps_idle_connections_longer_than_the_proxy_in_front(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both modes' servers take their options from one place; an idle connection outlives a
    proxy's, so the proxy never reuses one the app is closing (a 502 to Slack)."""
    from bot.app import server_options

    set_env(monkeypatch)
    options = server_options(load_settings())
    assert options["timeout_keep_alive"] > PROXY_IDLE_SECONDS
    set_env(monkeypatch, HTTP_KEEP_ALIVE_SECONDS="300")
    assert server_options(load_settings())["timeout_keep_alive"] == 300


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"PORT": "eighty"}, "PORT"),
        ({"POLL_INTERVAL_SECONDS": "0"}, "POLL_INTERVAL_SECONDS"),
        ({"HTTP_KEEP_ALIVE_SECONDS": "0"}, "HTTP_KEEP_ALIVE_SECONDS"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN"),
        ({"PIPECAT_API_URL": "ftp://x"}, "PIPECAT_API_URL"),
        ({"PIPECAT_WEBHOOK_SECRET": "not-a-whsec"}, "PIPECAT_WEBHOOK_SECRET"),
    ],
)
def test_malformed_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    set_env(monkeypatch, **env)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert raised.value.variable == variable
    assert str(raised.value).startswith(variable)


def test_http_mode_needs_a_signing_secret_but_socket_mode_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    with pytest.raises(SettingsError, match="SLACK_SIGNING_SECRET"):
        load_settings()
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-abc")
    assert load_settings().socket_mode


def test_secrets_are_not_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch)
    text = repr(load_settings()) + str(load_settings().model_dump())
    for secret in BASE.values():
        assert secret not in text


def test_alert_statuses_accept_commas_and_spaces(monkeypatch: pytest.MonkeyPatch) -> None:
    set_env(monkeypatch, ALERT_STATUSES="http_error, BOT_CONNECTION_TIMEOUT  500")
    assert load_settings().alert_status_set == frozenset({"HTTP_ERROR", "BOT_CONNECTION_TIMEOUT", "500"})


def run_bot(*args: str, env: dict[str, str], cwd: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "PIPECAT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_python_m_bot_without_settings_prints_one_line_and_exits_2(tmp_path: object) -> None:
    result = run_bot(env={}, cwd=str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PIPECAT_API_KEY" in lines[0] or "SLACK_BOT_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_value_is_reported_without_echoing_the_secret(tmp_path: object) -> None:
    result = run_bot(env={"SLACK_BOT_TOKEN": "xoxp-should-not-echo", "PIPECAT_API_KEY": "k"}, cwd=str(tmp_path))
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "xoxp-should-not-echo" not in result.stderr


def test_agent_status_settings_default_and_refuse_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AGENT_STATUS_INTERVAL_SECONDS", "CAPACITY_WARN_PERCENT"):
        monkeypatch.delenv(name, raising=False)
    set_env(monkeypatch)
    settings = load_settings()
    assert (settings.agent_status_interval_seconds, settings.capacity_warn_percent) == (120, 80)
    set_env(monkeypatch, AGENT_STATUS_INTERVAL_SECONDS="0", CAPACITY_WARN_PERCENT="95")
    settings = load_settings()
    assert (settings.agent_status_interval_seconds, settings.capacity_warn_percent) == (0, 95)
    for variable, bad in (("AGENT_STATUS_INTERVAL_SECONDS", "-1"), ("CAPACITY_WARN_PERCENT", "120")):
        set_env(monkeypatch, **{variable: bad})
        with pytest.raises(SettingsError) as raised:
            load_settings()
        assert raised.value.variable == variable
        monkeypatch.delenv(variable)


def test_an_empty_signing_secret_is_a_configuration_error_not_a_traceback(tmp_path: object) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1-abc", "PIPECAT_API_KEY": "k", "SLACK_SIGNING_SECRET": ""}
    result = run_bot(env=env, cwd=str(tmp_path))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "configuration error" in lines[0] and "SLACK_SIGNING_SECRET" in lines[0], lines
    assert "Traceback" not in result.stderr


def test_the_webhook_secret_is_optional_a_blank_one_is_unset_and_it_is_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_env(monkeypatch)
    assert load_settings().pipecat_webhook_secret is None
    monkeypatch.setenv("PIPECAT_WEBHOOK_SECRET", "  ")
    assert load_settings().pipecat_webhook_secret is None
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    monkeypatch.setenv("PIPECAT_WEBHOOK_SECRET", f" {secret}\n")
    settings = load_settings()
    assert settings.pipecat_webhook_secret is not None and settings.pipecat_webhook_secret.get_secret_value() == secret
    assert secret not in repr(settings) and secret in settings.secret_values()  # the log redactor masks it
