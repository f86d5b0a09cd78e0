"""Settings: the one place that reads the environment."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config_plain import DEFAULT_PIPECAT_API_URL, is_blank, is_http_url, normalise_url
from bot.contracts.errors import SettingsError
from bot.contracts.links import BadLink, dashboard_template
from bot.webhooks.verify import secret_problem

__all__ = ["AccessLists", "PipecatSettings", "Settings", "SettingsError", "load_pipecat_settings", "load_settings"]

#: An Events API v2 integration key (service or ruleset): 32 letters and digits.
ROUTING_KEY = re.compile(r"[A-Za-z0-9]{32}")


class PipecatSettings(BaseSettings):
    """What talking to Pipecat Cloud needs; enough for `python -m bot lookup`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    pipecat_api_key: SecretStr
    pipecat_api_url: str = DEFAULT_PIPECAT_API_URL
    pipecat_default_agent: str | None = None

    # The rules are defined in config_plain.py, shared with the lookup's plain reading.
    @field_validator("pipecat_api_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not is_http_url(value):
            raise ValueError("must be an http(s) URL")
        return normalise_url(value)

    @field_validator("pipecat_api_key")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if is_blank(value.get_secret_value()):
            raise ValueError("must not be empty")
        return value


class Settings(PipecatSettings):
    """Everything the app needs to run."""

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///pipecat-ops.db"
    port: int = Field(default=3000, ge=1, le=65535)
    #: How long the server keeps an idle connection open. Longer than the idle timeout of the
    #: proxy in front (an AWS ALB's is 60 s, Heroku's router's 90 s): a proxy that reuses a
    #: connection the server is closing answers Slack with a 502, and a slash command is not retried.
    http_keep_alive_seconds: int = Field(default=100, ge=1)
    poll_interval_seconds: float = Field(default=60, ge=1)
    alert_statuses: str = "HTTP_ERROR"
    incident_window_minutes: float = Field(default=30, gt=0)
    #: How long an alert is retried through Slack trouble before it is given up (and summarised).
    outbox_give_up_hours: float = Field(default=24, gt=0)
    #: The least time between two posts to one channel, across replicas (Slack: ~1 a second).
    slack_post_spacing_seconds: float = Field(default=1.0, ge=0)
    log_level: str = "INFO"
    #: Comma- or space-separated Slack ids; empty means everyone / everywhere.
    allowed_channels: str = ""
    allowed_users: str = ""
    #: Who may watch, unwatch, mute, unmute and stop sessions; empty means every allowed user.
    admin_users: str = ""
    audit_retention_days: int = Field(default=90, ge=1)
    #: PagerDuty Events API v2 integration key (bot/pagerduty/client.py); watches made with `page` use it.
    pagerduty_routing_key: SecretStr | None = None
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"
    #: How often each watched agent's status (GET /agents/{agent}) is read; 0 turns health alerts off.
    agent_status_interval_seconds: float = Field(default=120, ge=0)
    #: activeSessionCount as a share of autoScaling.maxReplicas that posts a capacity warning.
    capacity_warn_percent: float = Field(default=80, gt=0, le=100)
    #: json (one object a line), console, or auto (JSON unless stderr is a terminal).
    log_format: Literal["json", "console", "auto"] = "auto"
    #: The signing secret (whsec_…) of the Pipecat Cloud webhook endpoint pointed at this app;
    #: unset, POST /webhooks/pipecat answers 404.
    pipecat_webhook_secret: SecretStr | None = None
    #: The Pipecat Cloud dashboard's page of an agent (and of a session): an https URL naming
    #: {agent} and optionally {session}; alerts link there. Unset: no dashboard links.
    pipecat_dashboard_url: str | None = None

    @field_validator("pipecat_dashboard_url")
    @classmethod
    def _dashboard_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            return dashboard_template(value.strip())
        except BadLink as error:
            raise ValueError(str(error)) from None

    @field_validator("slack_api_url")
    @classmethod
    def _slack_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("pagerduty_events_url")
    @classmethod
    def _events_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value

    @field_validator("pagerduty_routing_key")
    @classmethod
    def _routing_key(cls, value: SecretStr | None) -> SecretStr | None:
        # PagerDuty's integration keys are 32 characters; anything else is refused by every event.
        if value is None or not value.get_secret_value().strip():
            return None  # PAGERDUTY_ROUTING_KEY= (blank) means "not set"
        if not ROUTING_KEY.fullmatch(value.get_secret_value()):
            raise ValueError("must be the 32-character Integration Key of an Events API v2 integration")
        return value

    @field_validator("slack_signing_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`SLACK_SIGNING_SECRET=""` (a template left empty) means not set, so HTTP mode reports it
        as the one configuration error instead of Bolt failing later with a traceback."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("pipecat_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # PIPECAT_WEBHOOK_SECRET= (blank) means "not set"
        if (problem := secret_problem(value.get_secret_value().strip())) is not None:
            raise ValueError(problem)
        return SecretStr(value.get_secret_value().strip())

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    def secret_values(self) -> list[str]:
        """Every secret setting's value, for the log redactor (new SecretStr fields are included)."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def alert_status_set(self) -> frozenset[str]:
        return parse_statuses(self.alert_statuses)

    @property
    def access(self) -> AccessLists:
        return AccessLists(
            channels=parse_ids(self.allowed_channels),
            users=parse_ids(self.allowed_users),
            admins=parse_ids(self.admin_users),
        )

    def check_mode(self) -> None:
        """HTTP mode cannot verify requests without a signing secret."""
        if not self.socket_mode and self.slack_signing_secret is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET", "is required (and must not be empty) in HTTP mode (no SLACK_APP_TOKEN set)"
            )


@dataclass(frozen=True)
class AccessLists:
    """Empty sets mean "no restriction"."""

    channels: frozenset[str]
    users: frozenset[str]
    admins: frozenset[str]


def parse_ids(raw: str) -> frozenset[str]:
    return frozenset(part.strip() for part in raw.replace(",", " ").split() if part.strip())


def parse_statuses(raw: str) -> frozenset[str]:
    return frozenset(part.strip().upper() for part in raw.replace(",", " ").split() if part.strip())


def describe_validation_error(error: ValidationError) -> SettingsError:
    """Turn pydantic's report into one line naming the first bad variable."""
    first = error.errors()[0]
    variable = str(first["loc"][0]).upper() if first["loc"] else "settings"
    if first["type"] == "missing":
        return SettingsError(variable, "is required but not set")
    return SettingsError(variable, f"is invalid: {first['msg']}")


def load_settings() -> Settings:
    try:
        settings = Settings()  # values come from the environment
    except ValidationError as error:
        raise describe_validation_error(error) from None
    settings.check_mode()
    return settings


def load_pipecat_settings() -> PipecatSettings:
    try:
        return PipecatSettings()
    except ValidationError as error:
        raise describe_validation_error(error) from None
