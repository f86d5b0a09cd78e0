"""What one webhook event makes the app do: a pure decision with table tests
(tests/unit/webhooks/test_decide.py).

Every event is kept as the change timeline (the store does that on receipt); on top of it:
- `spend.limit_reached`, `org.trial_ended`: a critical alert on every watched agent (Pipecat Cloud
  refuses every new session of the organization), posted once per watching channel and paging
  paging watches; `spend.limit_cleared` resolves the spend one, `service.resumed` the trial one
  (a suspended service resumes once the organization pays).
- `spend.threshold_reached`: a warning to the same channels, Slack only, nothing to resolve.
- `service.suspended`: a critical alert to the channels watching that agent; `service.resumed`
  resolves it.
- `deployment.created` / `deployment.updated`: the deployment went live at the event's time, and
  the agent's status is read at once (a crash-looping new revision is reported in seconds).
Anything else (builds, secrets, keys, session starts, unknown types) is timeline only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from bot.webhooks import events as ev

#: Condition keys of webhook alerts among an agent's open conditions start with this (the agent
#: status reader leaves them alone: only a webhook event opens or resolves them).
KEY_PREFIX = "webhook:"

# Condition kinds (the PagerDuty class and the severity's key).
SPEND_LIMIT = "spend-limit"
TRIAL_ENDED = "trial-ended"
SUSPENDED = "suspended"
SPEND_THRESHOLD = "spend-threshold"
SEVERITY = {SPEND_LIMIT: "critical", TRIAL_ENDED: "critical", SUSPENDED: "critical", SPEND_THRESHOLD: "warning"}

BILLING_HINT = "add a payment method or raise the limit in the Pipecat Cloud dashboard"


def condition_key(kind: str) -> str:
    return f"{KEY_PREFIX}{kind}"


def is_webhook_condition(key: str) -> bool:
    return key.startswith(KEY_PREFIX)


@dataclass(frozen=True)
class Alert:
    """What an alert says: the fields of an agent health finding (bot/alerts/health/records.py)."""

    kind: str
    title: str
    short: str
    facts: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return condition_key(self.kind)

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


@dataclass(frozen=True)
class OpenAlert:
    """Open `alert` on `agent`'s channels, or on every watched agent when `agent` is None."""

    alert: Alert
    agent: str | None = None


@dataclass(frozen=True)
class ResolveAlert:
    """Resolve the open alert of `kind` (on `agent`, or on every agent when None); `note` is what
    the recovery reply says it is now."""

    kind: str
    agent: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Warn:
    """A one-off warning to every channel that watches an agent (Slack only, nothing to resolve)."""

    alert: Alert


@dataclass(frozen=True)
class DateDeployment:
    agent: str
    deployment_id: str
    at: datetime


@dataclass(frozen=True)
class ReadStatus:
    agent: str


Effect = OpenAlert | ResolveAlert | Warn | DateDeployment | ReadStatus


def dollars(cents: int | None) -> str:
    return "an unknown amount" if cents is None else f"${cents / 100:,.2f}"


def spend_facts(current: int | None, limit: int | None) -> str:
    return f"spend {dollars(current)} of a {dollars(limit)} limit"


def decide(event: ev.StoredEvent) -> list[Effect]:
    """The effects of one stored event beyond the timeline. An event whose data does not fit its
    type (a deployment without its ids) has none: it stays in the timeline as it came."""
    try:
        data = ev.parse_data(event.event_type, event.data)
    except ValidationError:
        return []
    match data:
        case ev.SpendLimitReached():
            return [OpenAlert(spend_limit_alert(data))]
        case ev.SpendLimitCleared():
            note = f"spend limit cleared (it was {dollars(data.previous_limit_cents)})"
            return [ResolveAlert(SPEND_LIMIT, None, note)]
        case ev.SpendThreshold():
            return [Warn(threshold_alert(data))]
        case ev.TrialEvent() if event.event_type == "org.trial_ended":
            return [OpenAlert(trial_ended_alert(data))]
        case ev.ServiceEvent() if event.event_type == "service.suspended":
            return [OpenAlert(suspended_alert(data), event.agent)] if event.agent else []
        case ev.ServiceEvent() if event.event_type == "service.resumed":
            if not event.agent:
                return []
            return [
                ResolveAlert(SUSPENDED, event.agent, f"{event.agent} resumed"),
                ResolveAlert(TRIAL_ENDED, None, f"{event.agent} resumed: the organization pays again"),
            ]
        case ev.DeploymentEvent():
            if not event.agent:
                return []
            return [DateDeployment(event.agent, data.deployment_id, event.created_at), ReadStatus(event.agent)]
        case _:
            return []


def spend_limit_alert(data: ev.SpendLimitReached) -> Alert:
    return Alert(
        SPEND_LIMIT,
        "Spend limit reached: Pipecat Cloud refuses every new session (402 SPEND_LIMIT_REACHED)",
        "spend limit reached: new sessions refused (402)",
        (
            spend_facts(data.current_spend_cents, data.limit_cents),
            "sessions in progress continue",
            f"to accept sessions again, {BILLING_HINT}",
        ),
    )


def trial_ended_alert(data: ev.TrialEvent) -> Alert:
    facts = [f"amount due {dollars(data.amount_due_cents)}"] if data.amount_due_cents is not None else []
    facts.append("add a payment method in the Pipecat Cloud dashboard to accept sessions again")
    return Alert(
        TRIAL_ENDED,
        "Free trial ended: Pipecat Cloud refuses every new session until billing is set up",
        "trial ended: new sessions refused",
        tuple(facts),
    )


SUSPENSION_REASONS = {
    "trial_exhausted": ("the free trial is exhausted", "add a payment method in the Pipecat Cloud dashboard"),
    "account_suspended": ("the account is suspended", "contact Pipecat Cloud support"),
}


def suspended_alert(data: ev.ServiceEvent) -> Alert:
    reason = data.reason or "no reason given"
    why, todo = SUSPENSION_REASONS.get(reason, (reason.replace("_", " "), "see the Pipecat Cloud dashboard"))
    return Alert(
        SUSPENDED,
        f"Service suspended ({why}): Pipecat Cloud refuses its sessions",
        f"suspended ({why})",
        (f"reason: {reason}", f"to resume it, {todo}"),
    )


def threshold_alert(data: ev.SpendThreshold) -> Alert:
    return Alert(
        SPEND_THRESHOLD,
        f"Spend at {data.percent:g}% of the limit: at 100% Pipecat Cloud refuses every new session",
        f"spend at {data.percent:g}% of the limit",
        (spend_facts(data.current_spend_cents, data.limit_cents), BILLING_HINT),
    )


def finding_json(alert: Alert, webhook_id: str) -> dict[str, Any]:
    """The alert as an agent health finding's JSON (what health posts render and the pager
    reads), with the event that opened it (its posts' dedup keys name that event)."""
    return {
        "key": alert.key,
        "kind": alert.kind,
        "title": alert.title,
        "short": alert.short,
        "facts": list(alert.facts),
        "message": None,
        "deployment_id": None,
        "quiet": False,
        "webhook_id": webhook_id,
    }
