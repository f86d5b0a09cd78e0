"""Work after an ack: it waits while Slack requests are being answered, never starves, is never lost."""

from __future__ import annotations

import asyncio

import pytest

from bot.after_ack import AfterAck


async def test_work_waits_until_the_requests_in_flight_are_answered() -> None:
    priority = AfterAck(max_wait=60)
    order: list[str] = []

    async def work() -> None:
        await priority.wait_turn()
        order.append("work")

    with priority.answering():
        with priority.answering():
            task = asyncio.create_task(work())
            await asyncio.sleep(0)  # let the work reach its wait
            order.append("first answered")
        await asyncio.sleep(0)
        order.append("second answered")
    await task
    assert order == ["first answered", "second answered", "work"]


async def test_work_runs_at_once_when_nothing_is_in_flight() -> None:
    priority = AfterAck(max_wait=60)
    await asyncio.wait_for(priority.wait_turn(), timeout=1)


async def test_a_steady_stream_of_requests_does_not_starve_work() -> None:
    priority = AfterAck(max_wait=0.01)
    with priority.answering():
        await asyncio.wait_for(priority.wait_turn(), timeout=5)  # returns after max_wait, not never


async def test_spawned_work_runs_after_the_acks_and_shutdown_waits_for_it() -> None:
    after = AfterAck(max_wait=60)
    done: list[str] = []
    release = asyncio.Event()

    async def work() -> None:
        await release.wait()
        done.append("work")

    with after.answering():
        after.spawn(work())
    release.set()
    await after.drain(grace_seconds=5)
    assert done == ["work"]


async def test_failed_work_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    after = AfterAck()

    async def broken() -> None:
        raise RuntimeError("boom")

    after.spawn(broken())
    await after.drain(grace_seconds=5)
    await asyncio.sleep(0)  # the done-callback runs on the next loop iteration
    [record] = [r for r in caplog.records if r.name == "bot.after_ack"]
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])


async def test_work_waits_for_a_burst_to_go_quiet_not_only_for_nothing_in_flight() -> None:
    """The requests of a burst arrive one connection at a time: between two answers nothing is in
    flight for a moment, and work that started then would delay the acks still to come."""
    after = AfterAck(max_wait=60, quiet=1.0)
    started = asyncio.Event()

    async def work() -> None:
        await after.wait_turn()
        started.set()

    for _ in range(2):  # two answers in a row: a burst, nothing in flight now
        with after.answering():
            pass
    task = asyncio.create_task(work())
    await asyncio.sleep(0.05)
    assert not started.is_set()
    with after.answering():
        pass  # the next one, within the quiet period: the wait starts over
    await asyncio.sleep(0.1)
    assert not started.is_set()
    await asyncio.wait_for(task, timeout=5)  # once a second passed with no answer


async def test_a_lone_request_s_work_does_not_wait_for_quiet() -> None:
    """One command on its own: its lookup starts as soon as it is acknowledged."""
    after = AfterAck(max_wait=60, quiet=60)
    with after.answering():
        pass
    await asyncio.wait_for(after.wait_turn(), timeout=1)


async def test_the_quiet_wait_is_capped_too() -> None:
    after = AfterAck(max_wait=0.05, quiet=60)
    for _ in range(2):
        with after.answering():
            pass
    await asyncio.wait_for(after.wait_turn(), timeout=5)
