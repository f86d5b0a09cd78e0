"""The change timeline: stored webhook events as one line each, newest first (pure; table tests in
tests/unit/webhooks/test_timeline.py).

An agent's timeline holds its own deployments and suspensions, the builds its deployments were
made from, and every organization-wide change (secrets, API keys, spend, trial). Session starts
and `build.started` are not changes, and an unknown event type has no line. A deployment line
names the build's commit, ref and repository when a build event named them.

`Entry.text` is Slack mrkdwn whose outside text is already escaped (names go in code spans, so a
backtick in them is replaced); every outside text goes through `outside` (masked, bidi controls removed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from bot.contracts.text import outside
from bot.webhooks import events as ev
from bot.webhooks.decide import dollars

#: Event types that are no change of anything (they stay stored, for the record).
NOT_CHANGES = frozenset({"session.started", "build.started"})
#: Event type families that concern the whole organization.
ORG_WIDE = frozenset({"secret", "api_key", "spend", "org"})
ERROR_CHARS = 200
NAME_CHARS = 80


@dataclass(frozen=True)
class Entry:
    at: datetime
    event_type: str
    #: The agent the change is about; None when it concerns the whole organization.
    agent: str | None
    text: str


def _esc(text: str, limit: int = NAME_CHARS) -> str:
    text = outside(text)
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return cut.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return "`" + _esc(text.replace("`", "'")) + "`"


def short(identifier: str) -> str:
    """The first 8 characters, as the dashboard shows builds and deployments."""
    return identifier[:8]


def _ref(ref: str | None) -> str | None:
    if not ref:
        return None
    for prefix in ("refs/heads/", "refs/tags/"):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    return ref


def source(build: ev.BuildEvent) -> str | None:
    """ "acme-co/voice-agent@e3b0c44 on main", as much of it as the build named."""
    where = build.repo_full_name or ""
    if build.commit_sha:
        where += f"@{build.commit_sha[:7]}"
    ref = _ref(build.ref)
    if ref:
        where += f" on {ref}" if where else f"{ref}"
    return where or None


def _parse(event: ev.StoredEvent) -> object | None:
    try:
        return ev.parse_data(event.event_type, event.data)
    except ValidationError:
        return None


def _build_text(event_type: str, build: ev.BuildEvent) -> str:
    what = f"build {_code(short(build.build_id))}"
    took = f"{build.build_duration_seconds:g} s" if build.build_duration_seconds is not None else None
    origin = source(build)
    if event_type == "build.succeeded":
        details = ", ".join(_esc(p, 160) for p in (origin, took) if p)
        return f"{what} succeeded" + (f" ({details})" if details else "")
    verb = "timed out" if event_type == "build.timeout" else "failed"
    text = f"{what} {verb}" + (f" after {took}" if took else "")
    if build.error_message:
        text += f": {_esc(' '.join(build.error_message.split()), ERROR_CHARS)}"
    return text


def _deployment_text(event_type: str, deployment: ev.DeploymentEvent, build: ev.BuildEvent | None) -> str:
    text = f"{_code(deployment.service_name)} deployed"
    if deployment.build_id:
        text += f" build {_code(short(deployment.build_id))}"
        origin = source(build) if build is not None else None
        if origin:
            text += f" ({_esc(origin, 160)})"
    text += f", deployment {_code(short(deployment.deployment_id))}"
    return text + (" (new)" if event_type == "deployment.created" else "")


def _secret_text(event_type: str, secret: ev.SecretEvent) -> str:
    noun = "image pull secret" if secret.type == "imagePullSecret" else "secret set"
    target = f"{noun} {_code(secret.set_name)}"
    verb = {"secret.created": "created", "secret.updated": "changed", "secret.deleted": "deleted"}[event_type]
    fields = [f for f in secret.field_names or () if f]
    if secret.scope == "field" and fields:
        names = ", ".join(_code(f) for f in fields[:5]) + (f" and {len(fields) - 5} more" if len(fields) > 5 else "")
        preposition = {"created": "added to", "deleted": "removed from"}.get(verb, "in")
        verb_text = "" if verb in ("created", "deleted") else f" {verb}"
        return f"{names} {preposition} {target}{verb_text}"
    return f"{target} {verb}"


def _text(event: ev.StoredEvent, data: object, builds: Mapping[str, ev.BuildEvent]) -> str | None:
    kind = event.event_type
    match data:
        case ev.DeploymentEvent():
            return _deployment_text(kind, data, builds.get(data.build_id or ""))
        case ev.BuildEvent():
            return _build_text(kind, data)
        case ev.SecretEvent():
            return _secret_text(kind, data)
        case ev.ApiKeyEvent():
            noun = f"{data.type} API key" if data.type in ("public", "private") else "API key"
            name = f" {_code(data.name)}" if data.name else ""
            return f"{noun}{name} {kind.split('.', 1)[1]}"
        case ev.SpendThreshold():
            spent = f"{dollars(data.current_spend_cents)} of {dollars(data.limit_cents)}"
            return f"spend reached {data.percent:g}% of the limit ({spent})"
        case ev.SpendLimitReached():
            return f"spend limit reached ({dollars(data.limit_cents)}): every new session refused (402)"
        case ev.SpendLimitCleared():
            return f"spend limit cleared (it was {dollars(data.previous_limit_cents)})"
        case ev.ServiceEvent():
            if kind == "service.suspended":
                reason = (data.reason or "no reason given").replace("_", " ")
                return f"{_code(data.service_name)} suspended ({_esc(reason)})"
            return f"{_code(data.service_name)} resumed"
        case ev.TrialEvent():
            if kind == "org.trial_started":
                return "free trial started"
            due = f" (amount due {dollars(data.amount_due_cents)})" if data.amount_due_cents is not None else ""
            return f"free trial ended{due}: new sessions refused"
        case _:
            return None


def family(event_type: str) -> str:
    return event_type.split(".", 1)[0]


def timeline(
    events: Iterable[ev.StoredEvent],
    *,
    agent: str | None = None,
    builds: Iterable[ev.StoredEvent] = (),
) -> list[Entry]:
    """The events as timeline lines, newest first. With `agent`: its own events, the builds its
    deployments came from, and the organization-wide ones. `builds` are build events outside the
    listed ones that deployments may name (their lines are not listed, only used)."""
    listed = list(events)
    parsed = {e.id: _parse(e) for e in [*listed, *builds]}
    build_data: dict[str, ev.BuildEvent] = {}
    for e in sorted([*builds, *listed], key=lambda e: e.created_at):
        data = parsed.get(e.id)
        if isinstance(data, ev.BuildEvent):
            build_data[data.build_id] = data  # the latest event of a build tells the most
    built_for: dict[str, str] = {}
    for e in listed:
        data = parsed.get(e.id)
        if isinstance(data, ev.DeploymentEvent) and data.build_id and e.agent:
            built_for[data.build_id] = e.agent
    entries = []
    for e in listed:
        data = parsed.get(e.id)
        if e.event_type in NOT_CHANGES or data is None:
            continue
        owner: str | None
        if isinstance(data, ev.BuildEvent):
            owner = built_for.get(data.build_id)
        elif family(e.event_type) in ORG_WIDE:
            owner = None
        else:
            owner = e.agent
            if owner is None:
                continue  # about an agent, but names none we can use
        if agent is not None and owner not in (agent, None):
            continue
        if agent is not None and isinstance(data, ev.BuildEvent) and owner is None:
            continue  # a build no deployment of this agent came from
        text = _text(e, data, build_data)
        if text is not None:
            entries.append(Entry(e.created_at, e.event_type, owner, text))
    return sorted(entries, key=lambda entry: entry.at, reverse=True)


def referenced_builds(events: Sequence[ev.StoredEvent]) -> list[str]:
    """Build ids the deployments among `events` name (to look their build events up)."""
    ids = []
    for e in events:
        if family(e.event_type) == "deployment":
            build = e.data.get("build_id")
            if isinstance(build, str) and build:
                ids.append(build)
    return sorted(set(ids))
