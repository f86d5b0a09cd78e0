"""Polling over real HTTP (simulator → poller → outbox → stand-in), driven by the simulator's clock."""

from __future__ import annotations

import pytest

from bot.alerts import policy
from bot.contracts.alerts import ALERT_EVENT_TYPE as EVENT_TYPE
from bot.pipecat.errors import NotFound
from bot.store.records import OutboxState
from tests.fixtures_slack import INCIDENT_CHANNEL
from tests.fixtures_store import ALERT_CHANNEL, AlertRig


def reply_session_ids(rig: AlertRig, channel: str = ALERT_CHANNEL) -> list[str]:
    return [
        m.event_payload["session_id"]
        for parent in rig.top(channel)
        for m in rig.replies(parent, channel)
        if m.metadata and "session_id" in m.event_payload and "rollup" not in m.event_payload["dedup_key"]
    ]


async def test_a_failed_short_session_alerts_with_its_details(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    sid = rig.sim.add_session("voice-bot", "HTTP_ERROR", duration_seconds=4, cold_start=True, bot_start_seconds=2.5)
    await rig.cycle()
    [parent] = rig.top()
    [reply] = rig.replies(parent)
    assert parent.metadata == {
        "event_type": EVENT_TYPE,
        "event_payload": {"dedup_key": "parent:1", "agent": "voice-bot", "session_id": sid},
    }
    assert reply.event_payload == {"dedup_key": f"1:{sid}", "agent": "voice-bot", "session_id": sid}
    fields = " ".join(f["text"] for b in reply.blocks or [] if "fields" in b for f in b["fields"])
    deployment = rig.sim.session("voice-bot", sid).deployment_id
    assert deployment is not None
    for expected in ("HTTP_ERROR", "4s", "Yes", "2.5s", "MiB", deployment):
        assert expected in fields
    detail_calls = [r for r in rig.sim.requests if r.path.endswith(f"/sessions/{sid}")]
    assert len(detail_calls) == 1  # the list has no metrics: detail fetched for the alerting session
    # A second poll sees the same session again (overlap) and posts nothing more.
    await rig.cycle()
    assert len(rig.posts()) == 2


async def test_a_long_session_active_at_one_poll_and_failed_before_the_next_alerts(alert_rig: AlertRig) -> None:
    rig = alert_rig
    long_id = rig.sim.start_session("voice-bot")  # running before the watch: seeds the active set
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    for _ in range(30):  # half an hour: the session falls far out of the list window
        await rig.cycle()
    assert rig.posts() == []
    rig.sim.end_session("voice-bot", long_id, "HTTP_ERROR")
    await rig.cycle()
    assert reply_session_ids(rig) == [long_id]
    active_lists = [r for r in rig.sim.requests if r.query.get("status") == "active"]
    before = len(active_lists)
    await rig.cycle()  # the active set is empty now: one list call per idle cycle
    assert len([r for r in rig.sim.requests if r.query.get("status") == "active"]) == before


async def test_completed_sessions_do_not_alert_but_are_recorded(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    ids = [rig.sim.add_session("voice-bot", "HTTP_COMPLETED") for _ in range(3)]
    await rig.cycle()
    assert rig.posts() == []
    assert await rig.store.unseen("voice-bot", ids) == set()


async def test_statuses_per_watch_are_honoured(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")  # default: HTTP_ERROR
    await rig.svc.watch(INCIDENT_CHANNEL, "voice-bot", frozenset({"bot_connection_timeout", "AGENT_ERROR"}), None, "U0")
    rig.clock.advance(5)
    http_error = rig.sim.add_session("voice-bot", "HTTP_ERROR", end_state="completed")
    timeout = rig.sim.add_session("voice-bot", "BOT_CONNECTION_TIMEOUT", end_state="completed")
    by_end_state = rig.sim.add_session("voice-bot", "HTTP_COMPLETED", end_state="agent_error")
    rig.sim.add_session("voice-bot", "HTTP_COMPLETED", end_state="completed")
    await rig.cycle()
    assert reply_session_ids(rig, ALERT_CHANNEL) == [http_error]
    assert sorted(reply_session_ids(rig, INCIDENT_CHANNEL)) == sorted([timeout, by_end_state])


async def test_watching_checks_the_agent_and_never_back_fills(alert_rig: AlertRig) -> None:
    rig = alert_rig
    with pytest.raises(NotFound):
        await rig.svc.watch(ALERT_CHANNEL, "no-such-bot", None, None, "U0STEVE")
    rig.sim.add_session("voice-bot", "HTTP_ERROR")  # failed before the watch
    rig.clock.advance(5)
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    await rig.cycle()
    assert rig.posts() == []
    assert await rig.svc.watched_agents(ALERT_CHANNEL) == ["voice-bot"]


async def test_two_pages_of_sessions_with_a_small_page_limit_are_all_seen(alert_rig: AlertRig) -> None:
    rig = alert_rig  # the simulator serves at most 5 sessions a page
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    failed = []
    for i in range(9):
        status = "HTTP_ERROR" if i % 3 == 0 else "HTTP_COMPLETED"
        sid = rig.sim.add_session("voice-bot", status)
        if status == "HTTP_ERROR":
            failed.append(sid)
    await rig.cycle()
    offsets = {r.query.get("offset") for r in rig.sim.requests if r.query.get("status") == "all"}
    assert {"0", "5"} <= offsets
    assert sorted(reply_session_ids(rig)) == sorted(failed)


async def test_pipecat_down_for_several_polls_loses_nothing_and_posts_one_notice(alert_rig: AlertRig) -> None:
    rig = alert_rig
    long_id = rig.sim.start_session("voice-bot")
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    await rig.cycle()
    # Every request to the sessions endpoints fails (the client retries each one 4 times).
    rig.sim.fail_next(1000, 500, path_contains="/agents/voice-bot/sessions")
    during = []
    for _ in range(4):
        during.append(rig.sim.add_session("voice-bot", "HTTP_ERROR"))
        await rig.cycle()
    rig.sim.end_session("voice-bot", long_id, "HTTP_ERROR")
    notices = [m for m in rig.top() if "Cannot reach Pipecat Cloud" in m.text]
    assert len(notices) == 1 and "voice-bot" in notices[0].text
    assert reply_session_ids(rig) == []
    state = await rig.store.poll_state("voice-bot")
    assert state is not None and state.failures == 4
    rig.sim.clear_faults()
    await rig.cycle()
    await rig.cycle()
    assert sorted(reply_session_ids(rig)) == sorted([*during, long_id])
    texts = [m.text for m in rig.top()]
    assert sum("Cannot reach" in t for t in texts) == 1
    assert sum("answers again" in t for t in texts) == 1


async def test_a_malformed_answer_for_one_agent_does_not_stop_the_others(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    await rig.svc.watch(ALERT_CHANNEL, "support-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    voice = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    support = rig.sim.add_session("support-bot", "HTTP_ERROR")
    rig.sim.malformed_next(1, path_contains="/agents/voice-bot/sessions")
    await rig.cycle()
    assert reply_session_ids(rig) == [support]
    await rig.cycle()
    assert sorted(reply_session_ids(rig)) == sorted([voice, support])


async def test_a_malformed_session_detail_is_skipped_and_the_rest_alerts(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    broken = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    fine = rig.sim.add_session("voice-bot", "HTTP_ERROR")
    rig.sim.malformed_next(1, path_contains=f"/sessions/{broken}")
    await rig.cycle()
    # The detail was unreadable: the list item still carries the failure, so it alerts without metrics.
    assert sorted(reply_session_ids(rig)) == sorted([broken, fine])


async def test_unwatch_stops_alerts(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.jobs.poll_once()
    assert await rig.svc.unwatch(ALERT_CHANNEL, "voice-bot") is True
    assert await rig.svc.unwatch(ALERT_CHANNEL, "voice-bot") is False
    await rig.jobs.deliver_once()
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    await rig.cycle()
    assert rig.posts() == []
    assert {r.state for r in await rig.store.outbox_rows()} == {OutboxState.DEAD}
    assert await rig.svc.watched_agents(ALERT_CHANNEL) == []


async def test_a_storm_fetches_a_bounded_sample_of_details_and_still_alerts_every_failure(alert_rig: AlertRig) -> None:
    """A poll's per-failure Pipecat calls are capped (bot/alerts/policy.py
    DETAIL_FETCHES_PER_AGENT_PER_CYCLE): the newest failures get their metrics, the rest alert with
    the list's status and timing, and every one is in the channel."""
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    cap = policy.DETAIL_FETCHES_PER_AGENT_PER_CYCLE
    ids = []
    for _ in range(cap + 6):
        rig.clock.advance(1)
        ids.append(rig.sim.add_session("voice-bot", "HTTP_ERROR", duration_seconds=2))
    before = len(rig.sim.requests)
    await rig.jobs.poll_once()
    fetched = {r.path.rsplit("/", 1)[1] for r in rig.sim.requests[before:] if "/sessions/" in r.path}
    assert len(fetched) == cap and fetched == set(ids[-cap:])  # the newest ones
    await rig.jobs.deliver_once()
    alerted = [r.session_id for r in await rig.store.outbox_rows() if r.session_id is not None]
    assert sorted(s for s in alerted if s is not None) == sorted(ids)  # every failure alerts, sampled or not
