"""`/session`: ack → parse → call → render → respond, one small function per verb."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, assert_never

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.access import REFUSED
from bot.alerts.health.assess import quotable
from bot.blocks import notices
from bot.blocks.agent_card import ErrorRate, OpenHealth, agent_card
from bot.blocks.agents import agents_message
from bot.blocks.alerts import watches_message
from bot.blocks.causes import causes_message
from bot.blocks.changes import changes_message
from bot.blocks.errors import looking_up
from bot.blocks.help import help_message
from bot.blocks.lists import session_list
from bot.blocks.message import Message
from bot.blocks.paging import paging_needs_key
from bot.blocks.rates import rates_card
from bot.blocks.stats import stats_message
from bot.deps import Deps
from bot.explain.changes import change_timeline
from bot.explain.lookup import cause_lines
from bot.pipecat.errors import NotFound, PipecatError
from bot.pipecat.models import Agent, Session
from bot.slack import parsing as p
from bot.slack.payloads import SlashCommand
from bot.slack.replies import error_reply
from bot.slack.summaries import summary_with_cause
from bot.stats import compute_stats

logger = logging.getLogger(__name__)

COMMAND = "/session"

#: `stats` reads at most this many sessions of a window (all pages), then says it was capped.
STATS_SESSION_CAP = 2000
#: `list … errors` scans at most this many newest sessions looking for failures.
ERROR_SCAN_CAP = 500
#: `agent`: the error rate of the last hour comes from one list call of at most this many sessions.
AGENT_ERROR_SAMPLE = 100
AGENT_ERROR_WINDOW = timedelta(hours=1)
#: `agents`: the list has no active-session counts, so each agent's details are read, at most this
#: many agents (AGENT_DETAIL_READS at once); the rest are listed without their count.
AGENT_DETAILS_CAP = 25
AGENT_DETAIL_READS = 5


@dataclass(frozen=True)
class Request:
    """One `/session` invocation: what the user asked and where."""

    user_id: str
    channel_id: str
    deps: Deps


async def _lookup(cmd: p.Lookup, req: Request) -> Message:
    found = await req.deps.finder.find(cmd.session_id, agent=cmd.agent, channel_id=req.channel_id)
    return await summary_with_cause(req.deps, found.agent, found.session)


async def _list(cmd: p.ListSessions, req: Request) -> Message:
    pipecat = req.deps.pipecat
    if not cmd.errors_only:
        page = await pipecat.list_sessions(cmd.agent, status="all", limit=cmd.limit)
        shown = page.sessions[: cmd.limit]
        causes = cause_lines(await req.deps.lookup_causes.known(cmd.agent, shown))
        return session_list(
            cmd.agent, shown, total_count=page.total_count, errors_only=False, causes=causes, asked=cmd.asked
        )
    failed: list[Session] = []
    scanned = 0
    async for session in pipecat.iter_sessions(cmd.agent, status="ended"):
        scanned += 1
        if session.failed:
            failed.append(session)
        if len(failed) >= cmd.limit or scanned >= ERROR_SCAN_CAP:
            break
    causes = cause_lines(await req.deps.lookup_causes.known(cmd.agent, failed))
    return session_list(cmd.agent, failed, total_count=len(failed), errors_only=True, causes=causes, asked=cmd.asked)


async def _stats(cmd: p.Stats, req: Request) -> Message:
    start = int((req.deps.clock.now() - cmd.window).timestamp())
    sessions: list[Session] = []
    async for session in req.deps.pipecat.iter_sessions(cmd.agent, status="all", start_time=start):
        sessions.append(session)
        if len(sessions) >= STATS_SESSION_CAP:
            break
    capped = len(sessions) >= STATS_SESSION_CAP
    stats = compute_stats(sessions, window=cmd.window, capped=capped)
    return stats_message(cmd.agent, stats, window_label=cmd.window_label)


async def _agent_status(cmd: p.AgentStatus, req: Request) -> Message:
    pipecat, now = req.deps.pipecat, req.deps.clock.now()
    status = await pipecat.get_agent(cmd.agent)
    start = int((now - AGENT_ERROR_WINDOW).timestamp())
    try:
        page = await pipecat.list_sessions(cmd.agent, status="ended", start_time=start, limit=AGENT_ERROR_SAMPLE)
    except PipecatError:
        logger.warning("agent card for %s: the last hour's sessions could not be read", cmd.agent, exc_info=True)
        errors = None
    else:
        failed = sum(1 for s in page.sessions if s.failed)
        errors = ErrorRate(failed, len(page.sessions), max(page.total_count or 0, len(page.sessions)))
    findings = await req.deps.alerts.health.open_findings(cmd.agent)
    shown = [OpenHealth(f.title, f.severity, since) for f, since in findings if not f.quiet]
    health = status.current_revision.health if status.current_revision else None
    message = quotable(health.message if health else None)
    rates = await req.deps.alerts.rates_line(cmd.agent)
    return agent_card(cmd.agent, status, shown, errors, now=now, health_message=message, rates=rates)


async def _agents(cmd: p.Agents, req: Request) -> Message:
    listed = sorted(await req.deps.agents.agents(), key=lambda a: (a.name or "").lower())
    limit = asyncio.Semaphore(AGENT_DETAIL_READS)

    async def detailed(agent: Agent) -> Agent:
        if agent.active_session_count is not None or agent.name is None:
            return agent
        async with limit:
            try:
                return await req.deps.pipecat.get_agent(agent.name)
            except PipecatError:
                logger.warning("agents: the details of %s could not be read", agent.name, exc_info=True)
                return agent

    first = await asyncio.gather(*(detailed(a) for a in listed[:AGENT_DETAILS_CAP]))
    return agents_message([*first, *listed[AGENT_DETAILS_CAP:]])


async def _causes(cmd: p.Causes, req: Request) -> Message:
    rows = await req.deps.alerts.causes(cmd.agent, req.deps.clock.now() - cmd.window)
    return causes_message(cmd.agent, rows, window_label=cmd.window_label)


async def _changes(cmd: p.Changes, req: Request) -> Message:
    now = req.deps.clock.now()
    entries = await change_timeline(req.deps.store, cmd.agent, now - cmd.window, now)
    configured = req.deps.settings.pipecat_webhook_secret is not None
    return changes_message(cmd.agent, entries, window_label=cmd.window_label, webhooks_configured=configured)


async def _watch(cmd: p.Watch, req: Request) -> Message:
    if cmd.page and req.deps.settings.pagerduty_routing_key is None:
        return paging_needs_key(cmd.agent)  # nothing changed: the user sets the key and runs it again
    statuses = cmd.statuses or None
    watch = await req.deps.alerts.watch(
        req.channel_id, cmd.agent, statuses, cmd.group, req.user_id, cmd.page, runbook=cmd.runbook
    )
    return notices.watching(watch.agent, sorted(watch.statuses), watch.group, page=watch.page, runbook=watch.runbook)


async def _unwatch(cmd: p.Unwatch, req: Request) -> Message:
    removed = await req.deps.alerts.unwatch(req.channel_id, cmd.agent)
    return notices.unwatched(cmd.agent, removed)


async def _watches(cmd: p.Watches, req: Request) -> Message:
    configured = req.deps.settings.pagerduty_routing_key is not None
    return watches_message(await req.deps.alerts.watches(req.channel_id), paging_configured=configured)


async def _mute(cmd: p.Mute, req: Request) -> Message:
    until = await req.deps.alerts.mute(req.channel_id, cmd.agent, cmd.duration, req.user_id)
    return notices.muted(cmd.agent, until)


async def _unmute(cmd: p.Unmute, req: Request) -> Message:
    return notices.unmuted(cmd.agent, await req.deps.alerts.unmute(req.channel_id, cmd.agent))


async def _digest(cmd: p.Digest, req: Request) -> Message:
    digests = req.deps.digests
    if cmd.on:
        await digests.turn_on(req.channel_id, cmd.at, req.user_id)
        return notices.digest_on(cmd.at)
    return notices.digest_off(await digests.turn_off(req.channel_id))


async def _rates(cmd: p.Rates, req: Request) -> Message:
    return rates_card(await req.deps.alerts.rates_view(cmd.agent))


async def _slo(cmd: p.Slo, req: Request) -> Message:
    await req.deps.alerts.set_slo(cmd.agent, cmd.target, cmd.period, req.user_id)
    return notices.slo_set(cmd.agent, cmd.target, cmd.period)


async def _reply(cmd: p.Command, req: Request) -> Message:
    match cmd:
        case p.Help():
            return help_message(error=cmd.error)
        case p.Lookup():
            return await _lookup(cmd, req)
        case p.ListSessions():
            return await _list(cmd, req)
        case p.Stats():
            return await _stats(cmd, req)
        case p.AgentStatus():
            return await _agent_status(cmd, req)
        case p.Agents():
            return await _agents(cmd, req)
        case p.Causes():
            return await _causes(cmd, req)
        case p.Changes():
            return await _changes(cmd, req)
        case p.Watch():
            return await _watch(cmd, req)
        case p.Unwatch():
            return await _unwatch(cmd, req)
        case p.Watches():
            return await _watches(cmd, req)
        case p.Mute():
            return await _mute(cmd, req)
        case p.Unmute():
            return await _unmute(cmd, req)
        case p.Digest():
            return await _digest(cmd, req)
        case p.Rates():
            return await _rates(cmd, req)
        case p.Slo():
            return await _slo(cmd, req)
        case _:
            assert_never(cmd)


def _ack_message(cmd: p.Command) -> Message | None:
    """What can be said at once, in the ack: usage, or "looking it up"."""
    match cmd:
        case p.Help():
            return help_message(error=cmd.error)
        case p.Lookup():
            return looking_up(cmd.agent, cmd.session_id)
        case _:
            return None


async def _answer(cmd: p.Command, req: Request) -> tuple[Message, str]:
    """The reply and the audit result: "ok", or the kind of failure."""
    try:
        return await _reply(cmd, req), "ok"
    except NotFound as error:
        told = await _unknown_agent(cmd, req, error)
        return error_reply(told), type(told).__name__
    except Exception as error:  # noqa: BLE001 - every failure becomes a message; error_reply logs the unexpected
        return error_reply(error), type(error).__name__


async def _unknown_agent(cmd: p.Command, req: Request, error: NotFound) -> NotFound:
    """A 404 on a command that names an agent: "no agent named X" (with the nearest names) when
    the organization's agent list lacks it, else the 404 as it was."""
    agent = getattr(cmd, "agent", None)
    if not isinstance(agent, str) or isinstance(cmd, p.Lookup):  # a lookup's finder tells them apart itself
        return error
    try:
        return await req.deps.agents.unknown(agent) or error
    except Exception:  # telling them apart is extra; the 404 stands
        logger.exception("could not tell whether agent %s exists", agent)
        return error


def _request(command: dict[str, Any], deps: Deps) -> tuple[p.Command, Request, dict[str, str]]:
    form = SlashCommand.parse(command)
    cmd = p.parse_command(form.text)
    req = Request(form.user_id, form.channel_id, deps)
    audit = {"user_id": req.user_id, "channel_id": req.channel_id, "action": cmd.verb, "detail": form.text}
    return cmd, req, audit


def register(app: AsyncApp, deps: Deps) -> None:
    """Ack with what can be said at once; everything else, the audit write included, runs after."""

    @app.command(COMMAND)
    async def session_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        cmd, req, audit = _request(command, deps)
        if why := deps.gate.refusal(user_id=req.user_id, channel_id=req.channel_id, action=audit["action"]):
            await ack(**notices.refused(why).to_response(in_channel=False))
            deps.after_ack.spawn(deps.gate.record(**audit, result=REFUSED))
            return
        early = _ack_message(cmd)
        await (ack(**early.to_response(in_channel=False)) if early else ack())
        deps.after_ack.spawn(work(cmd, req, audit, respond))

    async def work(cmd: p.Command, req: Request, audit: dict[str, str], respond: AsyncRespond) -> None:
        if isinstance(cmd, p.Help):
            await deps.gate.record(**audit, result="usage" if cmd.error else "ok")
            return
        reply, result = await _answer(cmd, req)
        await respond(**reply.to_response(in_channel=result == "ok" and not cmd.private))
        await deps.gate.record(**audit, result=result)
