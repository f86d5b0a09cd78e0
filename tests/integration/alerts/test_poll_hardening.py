"""Polling never wedged (issue 10, items 7, 9, 12, 13), over real HTTP on the simulator's clock.

simulator → poller → outbox → Slack stand-in; faults come from the simulator (odd bodies, a request
hook that changes the world between two pages), never from patched product code.
"""

from __future__ import annotations

import json

from sandbox.pipecat.http_api import RecordedRequest
from tests import store_reads
from tests.fixtures_pipecat import ClientFactory
from tests.fixtures_slack import INCIDENT_CHANNEL
from tests.fixtures_store import ALERT_CHANNEL, AlertRig
from tests.integration.alerts.test_poll_pipeline import reply_session_ids

AGENT = "voice-bot"
BAD_ID = "5b1f0c2e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
SESSIONS_PATH = f"/agents/{AGENT}/sessions"


def notices(rig: AlertRig, channel: str = ALERT_CHANNEL) -> list[str]:
    return [m.text for m in rig.top(channel) if "session_id" not in (m.metadata or {}).get("event_payload", {})]


async def test_a_session_that_keeps_failing_is_set_aside_after_three_polls_and_never_blocks_the_agent(
    alert_rig: AlertRig,
) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.clock.advance(30)
    good = rig.sim.add_session(AGENT, "HTTP_ERROR")
    bad = {**rig.sim.session(AGENT, good).list_item(), "sessionId": BAD_ID, "botStartSeconds": "__NAN__"}
    page = {"total_count": 2, "sessions": [rig.sim.session(AGENT, good).list_item(), bad]}
    # NaN is what Python's JSON reader accepts and PostgreSQL's JSON type refuses.
    body = json.dumps(page).replace('"__NAN__"', "NaN")
    rig.sim.fail_next(1000, 200, body=body, path_contains=SESSIONS_PATH)
    await rig.cycle()
    assert reply_session_ids(rig) == [good]  # the good one is not held back
    await rig.cycle()
    assert not any("failed" in t for t in notices(rig))  # two tries: not given up yet
    await rig.cycle()
    [notice] = [t for t in notices(rig) if "polls of" in t]
    assert f"3 polls of {AGENT} failed: unexpected data in session {BAD_ID}" in notice
    assert "Cannot reach" not in " ".join(notices(rig))
    assert await rig.store.unseen(AGENT, [BAD_ID]) == set()  # recorded as seen ...
    failure = (await store_reads.item_failures(rig.store, AGENT))[BAD_ID]
    assert failure.gave_up_at is not None and "ValueError" in failure.error  # ... with its error
    state = await rig.store.poll_state(AGENT)
    assert state is not None and state.failures == 0 and BAD_ID not in state.active_set
    rig.sim.clear_faults()
    later = rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    await rig.cycle()
    assert reply_session_ids(rig) == [good, later]
    assert len([t for t in notices(rig) if "polls of" in t]) == 1


async def test_polls_failing_on_what_pipecat_sends_say_so_and_are_not_an_outage(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.sim.fail_next(1000, 200, body={"unexpected": True}, path_contains=SESSIONS_PATH)
    during = []
    for _ in range(2):
        during.append(rig.sim.add_session(AGENT, "HTTP_ERROR"))
        await rig.cycle()
    assert notices(rig) == []  # an outage notice would be due by now; this is not an outage
    await rig.cycle()
    [notice] = notices(rig)
    assert f"3 polls of {AGENT} failed" in notice and "not a page of sessions" in notice
    assert "Cannot reach" not in notice
    state = await rig.store.poll_state(AGENT)
    assert state is not None and state.failures == 3 and state.failure_kind == "data"
    rig.sim.clear_faults()
    await rig.cycle()
    await rig.cycle()
    assert sorted(reply_session_ids(rig)) == sorted(during)
    assert sum(f"Polling *{AGENT}* works again" in t or f"Polling {AGENT} works again" in t for t in notices(rig)) == 1


async def test_a_walk_cut_at_max_pages_holds_the_watermark_and_drains_the_rest_below(
    alert_rig: AlertRig, pipecat_client_factory: ClientFactory
) -> None:
    rig = alert_rig
    await rig.new_service(pipecat=pipecat_client_factory(max_pages=1))  # 1 page of 5 per walk
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    await rig.cycle()
    before = await rig.store.poll_state(AGENT)
    # An outage long enough that its back-log of 12 failures spans far more than one walk.
    rig.sim.fail_next(10_000, 503, path_contains=SESSIONS_PATH)
    failed = []
    for _ in range(12):
        failed.append(rig.sim.add_session(AGENT, "HTTP_ERROR"))
        await rig.cycle()
    rig.sim.clear_faults()
    await rig.cycle()  # the walk is cut at 5 sessions: the rest must not be skipped
    assert len(reply_session_ids(rig)) == 5
    state = await rig.store.poll_state(AGENT)
    assert before is not None and state is not None
    assert state.watermark == before.watermark and state.backfill_until is not None  # not past what was read
    for _ in range(2):
        await rig.cycle()  # the walk from the top reads what is new; the back-log drains below it
    assert sorted(reply_session_ids(rig)) == sorted(failed)
    state = await rig.store.poll_state(AGENT)
    assert state is not None and state.watermark == rig.clock.now() and state.backfill_until is None


async def test_a_watch_added_mid_cycle_hears_about_sessions_that_ended_after_it(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    ended_after: list[str] = []

    async def add_watch_then_fail(request: RecordedRequest) -> None:
        if request.path.endswith(SESSIONS_PATH) and not ended_after:
            # The cycle has read its watches already; a person watches from another channel...
            await rig.store.upsert_watch(INCIDENT_CHANNEL, AGENT, {"HTTP_ERROR"}, None, "U0", rig.clock.now())
            ended_after.append(rig.sim.add_session(AGENT, "HTTP_ERROR"))  # ... and then this fails

    rig.sim.on_request.append(add_watch_then_fail)
    await rig.cycle()
    await rig.jobs.deliver_once()
    assert reply_session_ids(rig, ALERT_CHANNEL) == ended_after
    assert reply_session_ids(rig, INCIDENT_CHANNEL) == ended_after


async def test_seeding_never_skips_a_running_session_when_the_active_list_shifts(alert_rig: AlertRig) -> None:
    rig = alert_rig
    running = []
    for _ in range(6):  # two pages of the active list (the simulator serves 5 a page)
        running.append(rig.sim.start_session(AGENT))
        rig.clock.advance(1)
    newest, oldest = running[-1], running[0]

    def end_one_between_pages(request: RecordedRequest) -> None:
        if request.query.get("status") == "active" and request.query.get("offset") == "5":
            rig.sim.on_request.remove(end_one_between_pages)
            rig.sim.end_session(AGENT, newest)  # page 1 is read: the list moves up by one

    rig.sim.on_request.append(end_one_between_pages)
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    state = await rig.store.poll_state(AGENT)
    assert state is not None and oldest in state.active_set
    for _ in range(30):  # long enough that the session is far outside the list window
        await rig.cycle()
    rig.sim.end_session(AGENT, oldest, "HTTP_ERROR")
    await rig.cycle()
    assert reply_session_ids(rig) == [oldest]
