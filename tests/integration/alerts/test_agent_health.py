"""Agent health and capacity over real HTTP: the simulator's status, the Slack stand-in, SQLite.

Each condition is alerted once to the watching channel after it held across two reads, is not
re-posted while it persists, and once reads have shown it gone for HEALTH_CLEAR_AFTER the alert is
edited (resolved, its evidence kept) and a recovery reply goes in its thread. Status reads happen
only on their own interval, once per agent across replicas (counted at the simulator).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from bot.alerts import policy
from bot.alerts.health.assess import Finding
from sandbox.pipecat.simulator import PipecatSimulator
from sandbox.slack.model import StoredMessage
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
INTERVAL = 120.0
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/app/bot.py", line 14, in <module>\n'
    "ModuleNotFoundError: No module named 'pipecat.services.cartesia' key=sk_live_51HqLyjWDarjtT1zdp7dc <!channel>"
)


@pytest.fixture
async def rig(alert_rig: AlertRig) -> AlertRig:
    await alert_rig.new_service(status_interval=INTERVAL)
    await alert_rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    return alert_rig


async def status_cycle(rig: AlertRig, advance: float = INTERVAL) -> None:
    rig.clock.advance(advance)
    await rig.jobs.status_cycle()


def text_of(message: StoredMessage) -> str:
    return f"{message.text} {message.blocks}"


#: Reads (one every INTERVAL) that show a condition gone before it clears: the first starts the
#: clearing, the last is the first one HEALTH_CLEAR_AFTER later.
READS_TO_CLEAR = math.ceil(policy.HEALTH_CLEAR_AFTER.total_seconds() / INTERVAL) + 1


async def until_cleared(rig: AlertRig) -> None:
    """Read until just before the condition clears: nothing resolved yet."""
    for _ in range(READS_TO_CLEAR - 1):
        await status_cycle(rig)
        assert all(not r.text.startswith(":white_check_mark:") for t in rig.top() for r in rig.replies(t))


def status_reads(sim: PipecatSimulator) -> int:
    return sum(1 for r in sim.requests if r.method == "GET" and r.path == f"/v1/agents/{AGENT}")


Scenario = tuple[Callable[[PipecatSimulator], object], Callable[[PipecatSimulator], object], str]
SCENARIOS: dict[str, Scenario] = {
    "crash loop": (
        lambda s: s.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK),
        lambda s: s.deploy(AGENT),
        "is crash-looping (CrashLoopBackOff)",
    ),
    "image pull": (
        lambda s: s.deploy(AGENT, crash="ImagePullBackOff", exit_code=None),
        lambda s: s.deploy(AGENT),
        "cannot pull its image",
    ),
    "out of memory": (lambda s: s.oom_restart(AGENT, 2), lambda s: s.clear_oom(AGENT), "out of memory (exit code 137)"),
    "infrastructure": (
        lambda s: s.set_infrastructure_issue(AGENT),
        lambda s: s.set_infrastructure_issue(AGENT, False),
        "infrastructure issue",
    ),
    "unavailable": (lambda s: s.set_available(AGENT, False), lambda s: s.set_available(AGENT, True), "not available"),
    "stuck rollout": (
        lambda s: s.deploy(AGENT, rollout_seconds=math.inf),
        lambda s: s.finish_rollout(AGENT),
        "is stuck",
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_each_condition_is_alerted_once_and_recovers_in_its_thread(rig: AlertRig, name: str) -> None:
    start, fix, headline = SCENARIOS[name]
    await status_cycle(rig)
    assert rig.top() == []  # healthy: nothing to say
    start(rig.sim)
    await status_cycle(rig)
    if name == "stuck rollout":
        assert rig.top() == []  # pending for 2 minutes is a rollout, not a stuck one
        for _ in range(5):
            await status_cycle(rig)
    assert rig.top() == []  # seen once: held, not alerted yet
    await status_cycle(rig)
    [alert] = rig.top()
    assert headline in text_of(alert)
    for _ in range(3):  # the condition persists: no new post, no edit
        await status_cycle(rig, 60 if name == "out of memory" else INTERVAL)
    assert len(rig.top()) == 1 and rig.replies(alert) == [] and not alert.edited
    fix(rig.sim)
    if name == "out of memory":
        rig.clock.advance(15 * 60)  # no new OOM restart for the quiet spell
    await until_cleared(rig)
    assert not rig.top()[0].edited
    await status_cycle(rig)
    [alert] = rig.top()
    [recovery] = rig.replies(alert)
    assert "Recovered" in recovery.text and alert.edited and "Resolved" in alert.text
    await status_cycle(rig)
    assert len(rig.top()) == 1 and len(rig.replies(alert)) == 1


async def test_the_crash_alert_quotes_the_traceback_escaped_with_the_secret_masked(rig: AlertRig) -> None:
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK)
    await status_cycle(rig)
    await status_cycle(rig)
    [alert] = rig.top()
    blocks = str(alert.blocks)
    assert "```" in blocks and "ModuleNotFoundError" in blocks
    assert "51HqLyjWDarjtT1zdp7dc" not in blocks and "sk_[masked]" in blocks
    assert "<!channel>" not in blocks and "&lt;!channel&gt;" in blocks
    assert "restart(s)" in blocks and "last exit code 1" in blocks
    findings = await rig.svc.health.open_findings(AGENT)
    assert [f.short for f, _ in findings if f.kind == "revision"] == [
        f"new revision {rig.sim.agent(AGENT).status.desired.id[:8]} crash-looping"  # type: ignore[union-attr]
    ]
    assert (await rig.svc.health.health_line(AGENT) or "").startswith("Agent health: new revision ")


async def test_capacity_warns_once_per_crossing_in_sessions_and_says_when_full(rig: AlertRig) -> None:
    sessions = [rig.sim.start_session(AGENT) for _ in range(7)]
    await status_cycle(rig)
    assert rig.top() == []  # 70%: below the 80% line
    sessions.append(rig.sim.start_session(AGENT))
    await status_cycle(rig)
    await status_cycle(rig)
    [warning] = rig.top()
    assert "Capacity warning: 8 active sessions (maxReplicas 10), 80%" in warning.text
    assert "replicas busy" not in text_of(warning)
    rig.sim.end_session(AGENT, sessions.pop())
    await status_cycle(rig)  # 7: inside the one-session band, still the same warning
    sessions.append(rig.sim.start_session(AGENT))
    await status_cycle(rig)
    assert len(rig.top()) == 1 and rig.replies(warning) == []
    for _ in range(2):
        rig.sim.end_session(AGENT, sessions.pop())
    await until_cleared(rig)  # 6: the crossing is over, once it stays over
    await status_cycle(rig)
    assert len(rig.replies(warning)) == 1 and rig.top()[0].edited
    sessions += [rig.sim.start_session(AGENT) for _ in range(4)]
    await status_cycle(rig)
    await status_cycle(rig)  # 100%: straight to full, the warning reopens quietly under it
    top = rig.top()
    assert len(top) == 2
    assert "At capacity: new sessions are refused (429 PCC-AGENT-AT-CAPACITY)" in top[1].text
    assert rig.sim.at_capacity(AGENT)


async def test_an_agent_hovering_at_its_capacity_line_is_alerted_once(rig: AlertRig) -> None:
    """2 <-> 3 of 3 replicas' worth of sessions, read every 15 s for 90 s: one post, no recovery."""
    hover = await rig.new_service(status_interval=15)
    rig.sim.set_max_replicas(AGENT, 3)
    sessions = [rig.sim.start_session(AGENT) for _ in range(2)]
    for read in range(7):
        if read % 2 == 0:
            sessions.append(rig.sim.start_session(AGENT))
        else:
            rig.sim.end_session(AGENT, sessions.pop())
        rig.clock.advance(15)
        await hover.jobs.status_cycle()
    [alert] = rig.top()
    assert "At capacity" in alert.text and rig.replies(alert) == [] and not alert.edited
    assert "3 active sessions (maxReplicas 3)" in text_of(alert)


async def test_status_reads_only_on_their_own_interval_and_once_across_replicas(rig: AlertRig) -> None:
    first = rig.replica
    second = await rig.new_service(status_interval=INTERVAL)
    before = status_reads(rig.sim)
    for _ in range(4):  # session polls never read the status
        await rig.cycle()
    assert status_reads(rig.sim) == before
    await first.jobs.status_cycle()
    await second.jobs.status_cycle()
    assert status_reads(rig.sim) == before + 1
    rig.clock.advance(INTERVAL / 2)
    await first.jobs.status_cycle()
    await second.jobs.status_cycle()
    assert status_reads(rig.sim) == before + 1  # not due yet
    rig.clock.advance(INTERVAL / 2)
    await second.jobs.status_cycle()
    await first.jobs.status_cycle()
    assert status_reads(rig.sim) == before + 2


async def test_a_failed_read_changes_nothing_and_off_means_no_reads(rig: AlertRig) -> None:
    rig.sim.set_available(AGENT, False)
    await status_cycle(rig)
    await status_cycle(rig)
    assert len(rig.top()) == 1
    rig.sim.fail_next(10, 503, path_contains=f"/agents/{AGENT}")
    for _ in range(READS_TO_CLEAR + 1):
        await status_cycle(rig)
    assert len(rig.top()) == 1 and rig.replies(rig.top()[0]) == []  # no news is not a recovery
    off = await rig.new_service(status_interval=0)
    before = len(rig.sim.requests)
    rig.clock.advance(INTERVAL)
    await off.jobs.status_cycle()
    assert len(rig.sim.requests) == before


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    async def condition_opened(self, agent: str, finding: Finding, opened_at: object) -> None:
        self.events.append(("opened", agent, finding.kind))

    async def condition_cleared(self, agent: str, finding: Finding, opened_at: object, cleared_at: object) -> None:
        self.events.append(("cleared", agent, finding.kind))


async def test_listeners_hear_each_opening_and_clearing_once(rig: AlertRig) -> None:
    recorder = Recorder()
    rig.svc.health.add_listener(recorder)
    rig.sim.set_infrastructure_issue(AGENT)
    await status_cycle(rig)
    await status_cycle(rig)
    await status_cycle(rig)
    rig.sim.set_infrastructure_issue(AGENT, False)
    for _ in range(READS_TO_CLEAR + 1):
        await status_cycle(rig)
    assert recorder.events == [("opened", AGENT, "infrastructure"), ("cleared", AGENT, "infrastructure")]


async def test_an_open_incident_is_re_rendered_when_its_agent_health_changes(rig: AlertRig) -> None:
    rig.clock.advance(5)
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK)
    await status_cycle(rig)  # held: the health slot does not change yet (the new deployment may)
    updates = len(rig.slack.calls_to("chat.update"))
    await status_cycle(rig)
    assert len(rig.slack.calls_to("chat.update")) == updates + 1  # the parent, to show the new health
    assert rig.slack.calls_to("chat.update")[-1].args["ts"] == parent.ts
    desired = rig.sim.agent(AGENT).status.desired.id  # type: ignore[union-attr]
    assert await rig.svc.health.health_summary(AGENT) == f"new revision {desired[:8]} crash-looping"


LATE_CHANNEL = "C0LATEWATCH"


async def test_a_channel_that_watches_later_hears_of_an_open_condition_once(rig: AlertRig) -> None:
    rig.slack.add_channel(LATE_CHANNEL, "late")
    rig.sim.set_available(AGENT, False)
    await status_cycle(rig)
    await status_cycle(rig)
    assert len(rig.top()) == 1
    rig.clock.advance(1)
    await rig.svc.watch(LATE_CHANNEL, AGENT, None, None, "U0STEVE")
    await status_cycle(rig)
    await status_cycle(rig)
    [late] = rig.top(LATE_CHANNEL)
    assert "not available" in late.text and len(rig.top()) == 1
    rig.sim.set_available(AGENT, True)
    for _ in range(READS_TO_CLEAR):
        await status_cycle(rig)
    assert len(rig.replies(late, LATE_CHANNEL)) == 1 and len(rig.replies(rig.top()[0])) == 1


async def test_a_condition_muted_when_it_opened_gets_no_recovery_either(rig: AlertRig) -> None:
    from datetime import timedelta

    await rig.svc.mute(ALERT_CHANNEL, AGENT, timedelta(minutes=30), "U0STEVE")
    rig.sim.set_infrastructure_issue(AGENT)
    await status_cycle(rig)
    await status_cycle(rig)
    await rig.svc.unmute(ALERT_CHANNEL, AGENT)
    rig.sim.set_infrastructure_issue(AGENT, False)
    for _ in range(READS_TO_CLEAR):
        await status_cycle(rig)
    assert rig.top() == []
    [recovery] = [r for r in await rig.store.outbox_rows(ALERT_CHANNEL) if r.kind == "health_clear"]
    assert recovery.state == "dead" and "not posted (muted)" in (recovery.last_error or "")


async def test_the_incident_parent_shows_the_agent_health(rig: AlertRig) -> None:
    rig.sim.deploy(AGENT, crash="CrashLoopBackOff", message=TRACEBACK)
    await status_cycle(rig)
    await status_cycle(rig)
    rig.clock.advance(5)
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    desired = rig.sim.agent(AGENT).status.desired.id  # type: ignore[union-attr]
    parent = next(m for m in rig.top() if "session failed" in m.text or "sessions failed" in m.text)
    assert f"*Agent health*\\nnew revision {desired[:8]} crash-looping" in str(parent.blocks)
    rig.sim.deploy(AGENT)
    for _ in range(READS_TO_CLEAR):
        await status_cycle(rig)
    parent = next(m for m in rig.top() if m.ts == parent.ts)
    assert "Agent health" not in str(parent.blocks) and parent.edited
