"""The outbox honours Slack's Retry-After in its HTTP-date form (issue 10, item 8), over the stand-in."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

from tests.fixtures_store import ALERT_CHANNEL, AlertRig


async def test_a_429_with_an_http_date_backs_the_channel_off_until_that_date(alert_rig: AlertRig) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, "voice-bot", None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.add_session("voice-bot", "HTTP_ERROR")
    until = rig.clock.now() + timedelta(seconds=60 + 120)  # the cycle below moves the clock 60 s first
    rig.slack.rate_limit_next("chat.postMessage", 1, retry_after=format_datetime(until, usegmt=True))
    await rig.cycle()
    assert len(rig.slack.rate_limited) == 1 and rig.posts() == []
    await rig.cycle()  # 60 s later: the date is still 60 s away (a misread header would be 1 s)
    assert rig.posts() == []
    await rig.cycle()  # past the date
    assert len(rig.posts()) == 2  # the incident's parent and its reply
