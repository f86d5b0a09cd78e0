"""No secret-shaped text reaches the channel, whichever path it takes.

1. The failure cause quoted in the alert's thread reply is masked by the one masker
   (bot/contracts/secrets.py `mask_secrets`, via bot/explain/cause.py and again by
   bot/blocks/format.py `escape`): a password in a URL (`redis://:pw@host`), `DB_PASSWORD=pw`,
   JSON `"db_password": "pw"`, an `x-api-key` header and an `AKIA…` access-key id are posted as
   `[masked]` (tests/unit/contracts/test_secrets.py has one row per shape).
2. The incident parent's **Logs** button (bot/slack/incident_actions.py → bot/blocks/logs.py)
   posts the session's last lines through the same masker, before each line is cut: the
   `ck_live_…` key the cause quote masks is masked in the Logs message too."""

from __future__ import annotations

import json

import pytest

from bot.contracts.actions import Action, session_value
from sandbox.pipecat.simulator import PipecatSimulator, SimClock
from sandbox.slack.standin import SlackStandIn
from tests.fixtures_app import AppFactory, load_payload
from tests.fixtures_slack import ONCALL_CHANNEL
from tests.fixtures_store import ALERT_CHANNEL, AlertRig

AGENT = "voice-bot"
PASSWORD = "Hunter2Pass"

FORMS = {
    "url-credentials": f"ERROR    | bot:connect:42 - cannot reach redis://:{PASSWORD}@cache.internal:6379/0",
    "env-style": f"ERROR    | bot:env:12 - bad settings: DB_PASSWORD={PASSWORD} DB_HOST=db",
    "json": 'ERROR    | bot:load:10 - settings {{"db_password": "' + PASSWORD + '", "user": "app"}}',
    "header": "ERROR    | httpx:send:9 - 401 for headers {{'x-api-key': '" + PASSWORD + "'}}",
    "aws-key-id": "ERROR    | boto:sign:9 - InvalidClientTokenId for AKIAIOSFODNN7EXAMPLE",
}


@pytest.mark.parametrize("form", list(FORMS))
async def test_the_quoted_cause_masks_common_secret_forms(alert_rig: AlertRig, form: str) -> None:
    rig = alert_rig
    await rig.svc.watch(ALERT_CHANNEL, AGENT, None, None, "U0STEVE")
    rig.clock.advance(5)
    rig.sim.set_failure_log(AGENT, [FORMS[form]])
    rig.sim.add_session(AGENT, "HTTP_ERROR")
    await rig.cycle()
    [parent] = rig.top()
    [reply] = rig.replies(parent)
    posted = json.dumps([parent.blocks, reply.blocks])
    assert "```" in json.dumps(reply.blocks)  # the cause was quoted
    for secret in (PASSWORD, "AKIAIOSFODNN7EXAMPLE"):
        assert secret not in posted, f"{form}: {secret} posted to the channel"


async def test_the_logs_button_masks_what_the_cause_quote_masks(
    app_factory: AppFactory, pipecat_sim: PipecatSimulator, sim_clock: SimClock, slack_standin: SlackStandIn
) -> None:
    key = "ck_live_4f9a8b7c6d5e3f2a1b0c"
    async with app_factory() as (runtime, slack):
        await slack.responses(await slack.command(f"watch {AGENT}"))
        pipecat_sim.set_failure_log(AGENT, [f"ERROR    | bot:tts:7 - CartesiaTTSService quota exceeded for key {key}"])
        sid = pipecat_sim.add_session(AGENT, "HTTP_ERROR")
        sim_clock.advance(60)
        await runtime.jobs.poll_once()
        await runtime.jobs.deliver_once()
        [parent] = slack_standin.messages_in(ONCALL_CHANNEL)
        assert key not in json.dumps(slack_standin.messages_in(ONCALL_CHANNEL, thread_ts=parent.ts)[0].blocks)
        payload = load_payload("block-actions.json")
        payload["actions"][0]["action_id"] = Action.INCIDENT_LOGS.value
        payload["actions"][0]["value"] = session_value(AGENT, sid)
        payload["container"]["message_ts"] = payload["message"]["ts"] = parent.ts
        await slack.interact(payload, message_ts=parent.ts)
        await slack_standin.wait_until(lambda: len(slack_standin.messages_in(ONCALL_CHANNEL, thread_ts=parent.ts)) >= 2)
        logs = slack_standin.messages_in(ONCALL_CHANNEL, thread_ts=parent.ts)[-1]
        assert "Logs" in json.dumps(logs.blocks)
        assert key not in json.dumps(logs.blocks), "the Logs button posted the live key in the channel"
