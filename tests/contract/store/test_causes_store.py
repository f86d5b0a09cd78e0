"""The explanation tables on every backend: the cause cache is per session and final once read,
a fingerprint counts each session once, incidents link their causes, deployments keep their first
sighting, rates are saved per agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import Store
from bot.store.records import (
    CAUSE_FOUND,
    CAUSE_NONE,
    CAUSE_PENDING,
    CAUSE_SKIPPED,
    DeployRate,
    DeployRates,
    NewCause,
)

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
AGENT = "voice-bot"
S1, S2, S3 = (f"0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a1{i}" for i in range(3))


def found(sid: str, at: datetime, fp: str = "fp1", label: str = "TTS error: quota exceeded") -> NewCause:
    return NewCause(sid, CAUSE_FOUND, at, "dep-1", fp, label, ("line one", "line two"))


async def test_a_read_cause_is_final_and_counts_once(store: Store) -> None:
    assert await store.record_causes(AGENT, [found(S1, T0), NewCause(S2, CAUSE_NONE, T0)], T0) == []
    # A second replica (or a retry) recording the same sessions changes nothing.
    await store.record_causes(AGENT, [found(S1, T0), found(S2, T0)], T0)
    causes = await store.session_causes(AGENT, [S1.upper(), S2])
    assert causes[S1].state == CAUSE_FOUND and causes[S1].quote == ("line one", "line two")
    assert causes[S1].label == "TTS error: quota exceeded"
    assert causes[S2].state == CAUSE_NONE and causes[S2].fingerprint is None
    [stat] = await store.top_causes(AGENT, T0 - timedelta(hours=1), 10)
    assert (stat.count, stat.occurrences, stat.example_session_id) == (1, 1, S1)


async def test_a_pending_cause_is_resolved_later_and_reported_as_late(store: Store) -> None:
    await store.record_causes(AGENT, [NewCause(S1, CAUSE_PENDING, T0), NewCause(S2, CAUSE_SKIPPED, T0)], T0)
    assert [c.session_id for c in await store.pending_causes(AGENT, 3, 10)] == [S1]
    assert await store.agents_with_pending_causes(3) == [AGENT]
    await store.note_failed_read(AGENT, S1)
    [pending] = await store.pending_causes(AGENT, 3, 10)
    assert pending.attempts == 1
    assert await store.record_causes(AGENT, [found(S1, T0)], T0 + timedelta(minutes=1)) == [S1]
    assert await store.pending_causes(AGENT, 3, 10) == []
    assert (await store.session_causes(AGENT, [S2]))[S2].state == CAUSE_SKIPPED  # never read one by one


async def test_a_storm_of_causes_is_recorded_in_one_go_with_each_rule_kept(store: Store) -> None:
    # A burst's worth in one call: new sessions (skipped, pending, found), an earlier pending one
    # now read, and an earlier final one a second read must not change or count again.
    many = [f"0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f{i:04d}" for i in range(600)]  # more than one IN (...) list
    await store.record_causes(AGENT, [NewCause(S1, CAUSE_PENDING, T0), found(S2, T0)], T0)
    later = T0 + timedelta(minutes=1)
    batch = [NewCause(sid, CAUSE_SKIPPED, later) for sid in many[:-1]]
    batch += [found(many[-1], later), found(S1, later), found(S2, later, fp="fp2", label="other")]
    assert await store.record_causes(AGENT, batch, later) == [S1]  # only the pending one became final
    causes = await store.session_causes(AGENT, [*many, S1, S2])
    assert len(causes) == 602
    assert {causes[sid].state for sid in many[:-1]} == {CAUSE_SKIPPED}
    assert (causes[S1].state, causes[S1].attempts) == (CAUSE_FOUND, 1)
    assert (causes[S2].state, causes[S2].fingerprint) == (CAUSE_FOUND, "fp1")  # the first answer stays
    [stat] = await store.top_causes(AGENT, T0 - timedelta(hours=1), 10)
    assert (stat.fingerprint, stat.count) == ("fp1", 3)  # S2 once, S1 and the new one: never S2 twice


async def test_a_session_listed_twice_in_one_call_is_applied_in_order(store: Store) -> None:
    # Pending first, then found: as two calls would, the second resolves the first.
    resolved = await store.record_causes(AGENT, [NewCause(S1, CAUSE_PENDING, T0), found(S1, T0), found(S1, T0)], T0)
    assert resolved == [S1]
    assert (await store.session_causes(AGENT, [S1]))[S1].state == CAUSE_FOUND
    [stat] = await store.top_causes(AGENT, T0 - timedelta(hours=1), 10)
    assert stat.count == 1


async def test_counts_first_and_last_seen_and_the_window(store: Store) -> None:
    await store.record_causes(AGENT, [found(S1, T0 - timedelta(days=2))], T0)
    await store.record_causes(AGENT, [found(S2, T0), found(S3, T0 + timedelta(minutes=5), fp="fp2", label="other")], T0)
    ranked = await store.top_causes(AGENT, T0 - timedelta(hours=1), 10)
    # One each in the last hour: the tie goes to the most recently seen.
    assert [(r.fingerprint, r.occurrences, r.count) for r in ranked] == [("fp2", 1, 1), ("fp1", 1, 2)]
    await store.record_causes(AGENT, [found(S1.replace("10", "19"), T0 + timedelta(minutes=1))], T0)
    ranked = await store.top_causes(AGENT, T0 - timedelta(hours=1), 10)
    assert [(r.fingerprint, r.occurrences, r.count) for r in ranked] == [("fp1", 2, 3), ("fp2", 1, 1)]
    fp1 = next(r for r in ranked if r.fingerprint == "fp1")
    latest = S1.replace("10", "19")
    assert fp1.first_seen_at == T0 - timedelta(days=2) and fp1.last_seen_at == T0 + timedelta(minutes=1)
    assert fp1.example_session_id == latest
    assert await store.top_causes("support-bot", T0 - timedelta(days=7), 10) == []  # per agent


async def test_incidents_link_their_causes_and_find_the_earlier_one(store: Store) -> None:
    await store.record_causes(AGENT, [found(S1, T0)], T0)
    await store.link_incident_causes(AGENT, 1, "C1", ["fp1"], T0)
    await store.link_incident_causes(AGENT, 1, "C1", ["fp1"], T0)  # idempotent
    await store.link_incident_causes(AGENT, 4, "C1", ["fp1"], T0 + timedelta(hours=2))
    stats = await store.cause_stats(AGENT, ["fp1"], before_incident=4)
    # No incident rows exist in this test: the links are kept, the references resolve to nothing.
    assert stats["fp1"].earlier_incident is None and stats["fp1"].last_incident is None
    assert (await store.cause_stats(AGENT, ["fp1"]))["fp1"].count == 1


async def test_deployments_keep_their_first_sighting_and_take_the_status_time(store: Store) -> None:
    await store.note_deployments(AGENT, {"dep-new": T0, "dep-old": T0 - timedelta(days=1)})
    await store.note_deployments(AGENT, {"dep-new": T0 + timedelta(hours=1)})  # later sightings change nothing
    await store.note_deployments(AGENT, {"dep-new": T0 - timedelta(minutes=5)})  # an earlier one wins
    known = await store.deployments_of(AGENT)
    assert [(d.deployment_id, d.first_seen_at) for d in known] == [
        ("dep-old", T0 - timedelta(days=1)),
        ("dep-new", T0 - timedelta(minutes=5)),
    ]
    await store.set_deployment_live(AGENT, "dep-new", T0 - timedelta(minutes=6))
    assert (await store.deployments_of(AGENT))[1].live_since == T0 - timedelta(minutes=6)


async def test_rates_are_saved_per_agent(store: Store) -> None:
    assert await store.deploy_rates_of(AGENT) is None
    rates = DeployRates(T0, 3600, (DeployRate("dep-new", 8, 6), DeployRate("dep-old", 40, 1)))
    await store.save_deploy_rates(AGENT, rates)
    await store.save_deploy_rates(AGENT, rates)
    assert await store.deploy_rates_of(AGENT) == rates


async def test_old_causes_are_forgotten_their_fingerprints_kept(store: Store) -> None:
    await store.record_causes(AGENT, [found(S1, T0 - timedelta(days=40)), found(S2, T0)], T0)
    assert await store.prune_causes(T0 - timedelta(days=30)) == 1
    assert set(await store.session_causes(AGENT, [S1, S2])) == {S2}
    assert (await store.cause_stats(AGENT, ["fp1"]))["fp1"].count == 2
