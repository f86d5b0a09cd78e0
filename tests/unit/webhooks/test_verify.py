"""Verification of Pipecat Cloud deliveries (bot/webhooks/verify.py) against the Standard Webhooks
library's own signer: good, wrong key, tampered, replayed, too new, unsigned, both header sets,
oversized, malformed headers."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from bot.webhooks import verify as v
from tests.unit.webhooks.fixtures import fixture_body

SECRET = "whsec_" + base64.b64encode(b"pipecat-ops-test-signing-key-32b").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else-s-signing-key-32b!").decode()
BODY = fixture_body("spend.limit_reached")
MSG = "msg_2x7Ck1Yq0aBcD"


def headers(
    body: bytes = BODY, *, secret: str = SECRET, at: float | None = None, prefix: str = "webhook", msg: str = MSG
) -> dict[str, str]:
    when = datetime.fromtimestamp(time.time() if at is None else at, tz=UTC)
    signature = Webhook(secret).sign(msg, when, body)
    return {f"{prefix}-id": msg, f"{prefix}-timestamp": str(int(when.timestamp())), f"{prefix}-signature": signature}


def refusal(body: bytes, given: dict[str, str]) -> tuple[str, int]:
    with pytest.raises(v.Refused) as caught:
        v.verify(SECRET, body, given)
    return caught.value.outcome, caught.value.status


def test_a_delivery_signed_with_the_secret_verifies() -> None:
    delivery = v.verify(SECRET, BODY, headers())
    assert (delivery.webhook_id, delivery.body) == (MSG, BODY)


def test_the_svix_header_names_verify_the_same() -> None:
    assert v.verify(SECRET, BODY, headers(prefix="svix")).webhook_id == MSG


def test_header_names_are_read_in_any_case_and_webhook_wins_over_svix() -> None:
    good = {k.upper(): val for k, val in headers().items()}
    assert v.verify(SECRET, BODY, {**good, "svix-signature": "v1,Zm9yZ2Vk"}).webhook_id == MSG


def test_one_of_several_signatures_may_match() -> None:
    given = headers()
    given["webhook-signature"] = "v1,AAAA " + given["webhook-signature"]  # a rotated secret's pair
    assert v.verify(SECRET, BODY, given).webhook_id == MSG


@pytest.mark.parametrize(
    ("case", "body", "sign", "expected"),
    [
        ("wrong key", BODY, lambda: headers(secret=OTHER_SECRET), (v.BAD_SIGNATURE, 401)),
        ("tampered body", BODY.replace(b"10000", b"99999", 1), lambda: headers(), (v.BAD_SIGNATURE, 401)),
        ("another id", BODY, lambda: {**headers(), "webhook-id": "msg_other"}, (v.BAD_SIGNATURE, 401)),
        ("replayed 6 min later", BODY, lambda: headers(at=time.time() - 360), (v.STALE, 401)),
        ("from the future", BODY, lambda: headers(at=time.time() + 360), (v.STALE, 401)),
        ("unsigned", BODY, lambda: {}, (v.UNSIGNED, 401)),
        (
            "no signature",
            BODY,
            lambda: {k: val for k, val in headers().items() if "signature" not in k},
            (v.UNSIGNED, 401),
        ),
        ("timestamp not seconds", BODY, lambda: {**headers(), "webhook-timestamp": "yesterday"}, (v.MALFORMED, 400)),
        ("id too long", BODY, lambda: headers(msg="m" * 101), (v.MALFORMED, 400)),
        (
            "oversized",
            b" " * (v.MAX_BODY_BYTES + 1),
            lambda: headers(b" " * (v.MAX_BODY_BYTES + 1)),
            (v.OVERSIZED, 413),
        ),
    ],
)
def test_what_pipecat_cloud_did_not_sign_just_now_is_refused(
    case: str, body: bytes, sign: Callable[[], dict[str, str]], expected: tuple[str, int]
) -> None:
    # Signed when the test runs, not when the suite is collected: the window is five minutes.
    assert refusal(body, sign()) == expected


def test_a_replay_within_the_window_verifies_and_is_caught_by_its_id_instead() -> None:
    # The signature cannot tell a retry from a replay; the store's unique webhook-id does.
    first, again = v.verify(SECRET, BODY, headers()), v.verify(SECRET, BODY, headers())
    assert first.webhook_id == again.webhook_id


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (SECRET, None),
        ("not-a-secret", "starting with whsec_"),
        ("whsec_", "must not be empty"),
    ],
)
def test_settings_say_what_is_wrong_with_a_secret(secret: str, problem: str | None) -> None:
    found = v.secret_problem(secret)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    assert v.too_large(str(v.MAX_BODY_BYTES + 1)) and not v.too_large(str(v.MAX_BODY_BYTES))
    assert not v.too_large(None) and not v.too_large("chunked")
