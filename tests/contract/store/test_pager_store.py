"""The PagerDuty part of the store, on every backend: alerts, their events, the v1 → v2 upgrade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.alerts.delivery.transitions import Posted, next_state
from bot.store import Store
from bot.store.records import OutboxKind, OutboxState
from tests import store_reads
from tests.fixtures_store import run_sql_fixture

T0 = datetime(2026, 10, 30, 14, 0, tzinfo=UTC)
KEY = SecretStr("Rk7p2Qx9Zt4Lm8Vb3Nc6Hd1Fg5Js0Wa2")
TTL = timedelta(seconds=30)
MARGIN = timedelta(seconds=12)
TRIGGER = {
    "event_action": "trigger",
    "dedup_key": "k1",
    "payload": {"summary": "s", "source": "a", "severity": "error"},
}


async def open_alert(store: Store, key: str = "k1", incident_id: int | None = 1) -> object:
    return await store.open_pager_alert(
        dedup_key=key, subscription_id=None, channel_id="C1", agent="voice-bot", incident_id=incident_id,
        condition=None, sent_count=2, event={**TRIGGER, "dedup_key": key}, routing_key=KEY, now=T0,
    )  # fmt: skip


async def test_an_alert_is_opened_once_and_keeps_its_key(store: Store) -> None:
    first = await open_alert(store)
    assert first is not None
    assert await open_alert(store) is None  # a second replica, or a restart: no second alert
    assert await open_alert(store, key="another-key-for-the-same-incident") is None  # unique per incident
    stored = await store.pager_alert_for_incident(1)
    assert stored is not None and stored.dedup_key == "k1" and stored.triggers == 1
    [row] = await store_reads.page_rows(store)
    assert (row.kind, row.dedup_key, row.payload["event"]["dedup_key"]) == (
        OutboxKind.PAGE,
        f"page:{stored.id}:trigger:1",
        "k1",
    )


async def test_advancing_is_a_compare_and_set(store: Store) -> None:
    await open_alert(store)
    alert = await store.pager_alert_for_incident(1)
    assert alert is not None
    ack = {"event_action": "acknowledge", "dedup_key": "k1"}
    kwargs: dict[str, Any] = {"action": "acknowledge", "state": "acknowledged", "sent_count": 2}
    kwargs |= {"event": ack, "now": T0}
    assert await store.advance_pager_alert(alert, **kwargs) is True
    assert await store.advance_pager_alert(alert, **kwargs) is False  # stale read: the other replica lost
    assert [r.payload["event"]["event_action"] for r in await store_reads.page_rows(store)] == [
        "trigger",
        "acknowledge",
    ]


async def test_events_of_one_alert_go_out_in_order_and_never_to_slack(store: Store) -> None:
    await open_alert(store)
    await open_alert(store, key="k2", incident_id=2)
    alert = await store.pager_alert_for_incident(1)
    assert alert is not None
    resolve = {"event_action": "resolve", "dedup_key": "k1"}
    await store.advance_pager_alert(alert, action="resolve", state="resolved", sent_count=2, event=resolve, now=T0)
    due = await store.page_rows_due(T0)
    assert [r.payload["event"]["dedup_key"] for r in due] == ["k1", "k2"]
    assert [r.payload["event"]["event_action"] for r in due] == ["trigger", "trigger"]  # resolve waits its turn
    assert await store.channels_with_work(T0) == [] and await store.next_deliverable("C1", T0) is None
    assert await store.claim(due[0], "tok", T0, timedelta(seconds=30))
    sent = next_state(due[0], Posted(""), now=T0, give_up_after=timedelta(hours=24))
    assert await store.apply(due[0], "tok", sent, T0)
    rows = await store_reads.page_rows(store)
    assert rows[0].state == OutboxState.SENT
    assert [r.payload["event"]["event_action"] for r in await store.page_rows_due(T0)] == ["trigger", "resolve"]
    assert await store.unresolved_pager_alerts() == [await store.pager_alert("k2")]


async def test_an_alert_keeps_the_routing_key_it_was_opened_with_out_of_its_record(store: Store) -> None:
    await open_alert(store)
    alert = await store.pager_alert_for_incident(1)
    assert alert is not None
    stored = await store.pager_routing_key(alert.id)
    assert stored is not None and stored.get_secret_value() == KEY.get_secret_value()
    assert KEY.get_secret_value() not in repr(alert) and KEY.get_secret_value() not in repr(stored)
    assert await store.pager_routing_key(alert.id + 1) is None


async def test_the_namespace_is_stored_once_and_every_replica_reads_the_first(store: Store) -> None:
    assert await store.latest_pager_key() is None
    assert await store.pager_namespace("first", T0) == "first"
    assert await store.pager_namespace("second", T0 + TTL) == "first"  # another replica, or a restart
    await open_alert(store, key="pipecat-ops/first/C1/incident/1")
    assert await store.latest_pager_key() == "pipecat-ops/first/C1/incident/1"


async def test_a_muted_occurrence_is_recorded_never_sent_and_never_opened_again(store: Store) -> None:
    muted: dict[str, Any] = {"subscription_id": None, "channel_id": "C1", "agent": "voice-bot", "condition": "revision"}
    assert await store.record_muted_pager_alert(dedup_key="kc", now=T0, **muted) is True
    assert await store.record_muted_pager_alert(dedup_key="kc", now=T0, **muted) is False
    alert = await store.pager_alert("kc")
    assert alert is not None and alert.state == "muted" and alert.triggers == 0
    assert await store_reads.page_rows(store) == [] and await store.unresolved_pager_alerts() == []


async def test_the_fence_passes_only_a_claim_that_is_ours_with_time_to_run(store: Store) -> None:
    await open_alert(store)
    [row] = await store.page_rows_due(T0)
    assert await store.claim(row, "tok-a", T0, TTL)
    assert await store.confirm_page_claim(row, "tok-b", T0, ttl=TTL, margin=MARGIN) is False  # not our token
    assert await store.confirm_page_claim(row, "tok-a", T0 + timedelta(seconds=10), ttl=TTL, margin=MARGIN)
    # Extended to 10 s + TTL: 25 s later it still has 15 s (more than the margin) ...
    assert await store.confirm_page_claim(row, "tok-a", T0 + timedelta(seconds=25), ttl=TTL, margin=MARGIN)
    # ... but a worker paused 50 s past that finds its claim expired, and another takes it over.
    late = T0 + timedelta(seconds=75)
    assert await store.confirm_page_claim(row, "tok-a", late, ttl=TTL, margin=MARGIN) is False
    [again] = await store.page_rows_due(late)
    assert again.state == OutboxState.SENDING and await store.claim(again, "tok-b", late, TTL)
    assert await store.confirm_page_claim(again, "tok-a", late, ttl=TTL, margin=MARGIN) is False
    assert await store.confirm_page_claim(again, "tok-b", late, ttl=TTL, margin=MARGIN) is True


async def test_a_refusal_is_recorded_on_the_watch_until_it_is_set_again(store: Store) -> None:
    watch, _ = await store.upsert_watch("C1", "voice-bot", ["HTTP_ERROR"], None, "U1", T0, page=True)
    assert watch.page is True
    await store.record_page_refused(None, "C1", "voice-bot", "Event object is invalid: Invalid routing key", T0)
    [(view, _)] = await store.watches_with_mutes("C1", T0)
    assert (view.page, view.page_error) == (True, "Event object is invalid: Invalid routing key")
    await store.upsert_watch("C1", "voice-bot", ["HTTP_ERROR"], None, "U1", T0, page=True)
    [(view, _)] = await store.watches_with_mutes("C1", T0)
    assert view.page_error is None
    assert await store.paging_watches() == [(watch.id, "C1", "voice-bot")]


async def test_a_stage_one_database_gets_paging_and_its_watches_do_not_page(tmp_path: Path) -> None:
    """The first landed schema (before Alembic), with a watch in it, upgraded by the app."""
    store = Store.from_url(f"sqlite:///{tmp_path / 'v1.db'}")
    try:
        await run_sql_fixture(store, "landed-v1.sqlite.sql")
        await run_sql_fixture(store, "landed-v1-data.sql")
        await store.migrate(wait=0)
        old = await store.watch("C0ONCALL", "voice-bot")
        assert old is not None and old.page is False  # existing watches do not start paging
        await store.upsert_watch("C0ONCALL", "voice-bot", ["HTTP_ERROR"], None, "U1", T0, page=True)
        assert (await store.watch("C0ONCALL", "voice-bot")).page is True  # type: ignore[union-attr]
    finally:
        await store.dispose()
