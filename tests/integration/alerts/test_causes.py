"""Alerts that explain (issue 12), over the simulator and the Slack stand-in on the simulator's clock:
the cause quoted from the session's own log, fingerprints, a quiet log, a slow log, the storm bound."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from bot.explain.explainer import LOG_READS_PER_AGENT_PER_CYCLE
from bot.store.records import CAUSE_FOUND
from sandbox.slack.model import StoredMessage
from tests.fixtures_pipecat import load_pipecat_fixture
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
SECRET = "ck_live_4f9a8b7c6d5e3f2a1b0c"
WINDOW_SECONDS = 31 * 60


def fixture_failure_log() -> list[str]:
    """logs-session-error.json oldest first, its ERROR line carrying a live key and a channel ping."""
    page = load_pipecat_fixture("logs-session-error.json")
    lines = [entry["log"] for entry in reversed(page["logs"])]
    start = next(i for i, line in enumerate(lines) if "CartesiaTTSService#0" in line)
    failure = lines[start:-1]  # the simulator adds its own start lines and "Bot finished"
    failure[0] = failure[0].replace("ck_live_***", f"{SECRET} <!channel>")
    return failure


def texts(message: StoredMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def code_block(message: StoredMessage) -> str:
    for block in message.blocks or []:
        text = (block.get("text") or {}).get("text", "")
        if "```" in text:
            return str(text.split("```")[1].strip("\n"))
    raise AssertionError(f"no quoted cause in {message.blocks}")


def log_calls(rig: AlertRig) -> int:
    return sum(1 for r in rig.sim.requests if r.path.endswith("/logs"))


async def watched(rig: AlertRig) -> None:
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.clock.advance(5)


async def test_the_cause_is_quoted_from_the_sessions_own_log_masked_and_escaped(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await watched(rig)
    rig.sim.set_failure_log(AGENT, fixture_failure_log())
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    [reply] = rig.replies(parent)
    quote = code_block(reply)
    assert quote.splitlines()[0].endswith(
        "CartesiaTTSService#0 error: websocket closed unexpectedly (code 1011): "
        "quota exceeded for key ck_[masked] &lt;!channel&gt;"
    )
    assert quote.splitlines()[-1].startswith("websockets.exceptions.ConnectionClosedError: received 1011")
    assert len(quote.splitlines()) <= 6 and len(quote) <= 600 + 5 * len("&lt;")
    assert SECRET not in repr(rig.slack.calls) and "<!channel>" not in texts(reply)
    assert "Likely cause" in texts(parent)
    label = "CartesiaTTSService error: websocket closed unexpectedly (code N): quota exceeded for key ck_[masked]"
    assert f"1× `{label}" in texts(parent)
    assert "*new*" in texts(parent)
    assert log_calls(rig) == 1


async def test_two_sessions_differing_only_in_ids_and_numbers_are_one_cause(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await watched(rig)
    rig.sim.set_failure_log(
        AGENT,
        [
            "ERROR    | pipecat.services.deepgram.stt:_connect:{line} - DeepgramSTTService#{n} error: "
            "session {session_id} timed out after {seconds}s at 0x7f{n}ab (attempt {n})",
        ],
    )
    first = rig.sim.add_session(AGENT, "HTTP_ERROR", duration_seconds=12)
    second = rig.sim.add_session(AGENT, "HTTP_ERROR", duration_seconds=47)
    await rig.cycle()
    [parent] = rig.top()
    above, below = [r for r in rig.replies(parent) if r.metadata]
    own, other = (r.metadata["event_payload"]["session_id"] for r in (above, below) if r.metadata)
    assert {own, other} == {first, second}
    assert own in code_block(above) and other not in code_block(above)  # each reply quotes its own session
    # The next reply has the same cause (one fingerprint): it says so instead of quoting it again.
    assert "*Cause*: same cause as above" in texts(below) and "```" not in texts(below)
    assert "2× `DeepgramSTTService error: session &lt;id&gt; timed out after Ns at &lt;hex&gt; (attempt N)`" in texts(
        parent
    )
    causes = await rig.store.session_causes(AGENT, [first, second])
    assert {c.state for c in causes.values()} == {CAUSE_FOUND}
    assert len({c.fingerprint for c in causes.values()}) == 1
    # The same cause in a later incident is "seen before", linked to the first incident.
    rig.clock.advance(WINDOW_SECONDS)
    await rig.cycle()
    rig.sim.add_session(AGENT, "HTTP_ERROR", duration_seconds=3)
    await rig.cycle()
    later = rig.top()[-1]
    assert later.ts != parent.ts
    assert "1× `DeepgramSTTService error" in texts(later) and "seen before on" in texts(later)
    assert f"archives/{ALERT_CHANNEL}/p{parent.ts.replace('.', '')}" in texts(later)
    [row] = await rig.svc.causes(AGENT, rig.clock.now() - timedelta(hours=2))
    assert (row.occurrences, row.count) == (3, 3)


async def test_a_thread_says_same_cause_as_above_only_after_a_reply_with_that_cause(alert_rig: AlertRig) -> None:
    """bot/alerts/delivery/messages.py `_reply_cause`: a reply whose cause has the previous reply's
    fingerprint says "same cause as above"; a different cause in between is quoted, and the one
    after it quoted again (it is not the same as the reply right above it). The hint shows too."""
    rig = alert_rig
    await watched(rig)
    quota = "ERROR    | pipecat.services.cartesia.tts:run_tts:{line} - CartesiaTTSService#0 error: quota exceeded ({n})"
    other = "ERROR    | bot:main:{line} - KeyError: 'voice_id' in session {session_id}"
    sessions = []
    for log in (quota, quota, other, quota):
        rig.sim.set_failure_log(AGENT, [log])
        sessions.append(rig.sim.add_session(AGENT, "HTTP_ERROR", duration_seconds=5))
        await rig.cycle()
    [parent] = rig.top()
    replies = {r.metadata["event_payload"]["session_id"]: r for r in rig.replies(parent) if r.metadata}
    said = [texts(replies[s]) for s in sessions]
    assert "```" in said[0] and "quota exceeded at Cartesia: check the plan or the key" in said[0]
    assert "same cause as above" in said[1] and "```" not in said[1]
    assert "quota exceeded at Cartesia" in said[1]  # what to do still shows
    assert "```" in said[2] and "same cause as above" not in said[2] and ":bulb:" not in said[2]  # no hint
    assert "```" in said[3] and "same cause as above" not in said[3]


async def test_a_quiet_log_is_not_given_another_sessions_cause(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await watched(rig)
    rig.sim.set_failure_log(AGENT, fixture_failure_log())
    loud = rig.sim.add_session(AGENT, "HTTP_ERROR")
    rig.sim.set_failure_log(AGENT, [])  # this one logs nothing but its start and end
    quiet = rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    replies = {r.metadata["event_payload"]["session_id"]: r for r in rig.replies(parent) if r.metadata}
    assert "CartesiaTTSService" in code_block(replies[loud])
    assert "no error in this session's log" in texts(replies[quiet])
    assert "CartesiaTTSService" not in texts(replies[quiet]) and "```" not in texts(replies[quiet])
    assert "1× `CartesiaTTSService" in texts(parent) and "1 with no error in their log" in texts(parent)


async def test_a_slow_log_posts_without_the_cause_then_edits_the_reply(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(cause_wait_seconds=0.2)
    await watched(rig)
    rig.sim.set_failure_log(AGENT, fixture_failure_log())
    rig.sim.hang_next(1, path_contains="/logs")  # never answers: the deadline passes, deterministically
    sid = rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    [reply] = rig.replies(parent)
    assert "reading this session" in texts(reply) and "```" not in texts(reply)
    assert "1 still being read" in texts(parent)
    await rig.cycle()  # the log answers now: the cause is recorded and the reply edited
    [reply] = rig.replies(parent)
    assert reply.edited and "CartesiaTTSService" in code_block(reply)
    assert reply.metadata and reply.metadata["event_payload"]["session_id"] == sid
    [parent] = rig.top()
    assert "1× `CartesiaTTSService" in texts(parent) and "still being read" not in texts(parent)
    await rig.cycle()
    reply_edits = [c for c in rig.slack.calls_to("chat.update") if c.args.get("ts") == reply.ts]
    assert len(reply_edits) == 1  # edited once, not on every cycle
    assert len(rig.posts()) == 2  # nothing re-posted


async def test_a_storm_reads_a_bounded_number_of_logs_and_an_idle_cycle_none(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await watched(rig)
    await rig.cycle()
    lists_before = sum(1 for r in rig.sim.requests if r.path.endswith("/sessions"))
    await rig.cycle()
    assert sum(1 for r in rig.sim.requests if r.path.endswith("/sessions")) == lists_before + 1
    assert log_calls(rig) == 0
    for _ in range(60):
        rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    assert log_calls(rig) == LOG_READS_PER_AGENT_PER_CYCLE
    await rig.cycle()
    assert log_calls(rig) == LOG_READS_PER_AGENT_PER_CYCLE  # the rest of the burst is never read one by one
    [parent] = rig.top()
    assert re.search(r"55 not read \(burst\)", texts(parent)), texts(parent)


async def test_a_cause_left_pending_by_a_process_that_stopped_is_read_by_the_next(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.new_service(cause_wait_seconds=0.2)
    await watched(rig)
    rig.sim.set_failure_log(AGENT, fixture_failure_log())
    rig.sim.hang_next(1, path_contains="/logs")
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    assert "reading this session" in texts(rig.replies(parent)[0])
    await rig.new_service()  # a restart: nothing of the first process's memory survives
    await rig.cycle()
    [reply] = rig.replies(parent)
    assert reply.edited and "CartesiaTTSService" in code_block(reply)
