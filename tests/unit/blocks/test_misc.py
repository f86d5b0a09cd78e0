"""List, stats, help, error, looking-up and logs builders; Message plumbing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.models.blocks import DividerBlock

from bot.blocks.errors import error_message, looking_up
from bot.blocks.format import cut_escaped, esc, resample
from bot.blocks.help import help_message
from bot.blocks.lists import session_list
from bot.blocks.logs import logs_message
from bot.blocks.message import Message, build
from bot.blocks.stats import stats_message
from bot.pipecat.models import LogPage, Session, SessionPage
from bot.stats import SessionStats, compute_stats
from tests.blocks_checks import HOSTILE, assert_no_raw_markup, assert_within_limits, load_fixture

AGENT = "voice-bot"
SID = "0b6f2c1e-8d4a-4f3b-9c2e-5a7d1e9f0a11"
PAGE = SessionPage.model_validate(load_fixture("sessions-list-page.json"))


def body(message: Message) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


# --- Message -----------------------------------------------------------------------------------------------


def test_message_response_and_post_kwargs() -> None:
    metadata = {"event_type": "x", "event_payload": {}}
    message = Message(text="hi", blocks=[{"type": "divider"}], metadata=metadata)
    assert message.to_response(in_channel=True) == {
        "response_type": "in_channel",
        "text": "hi",
        "blocks": [{"type": "divider"}],
    }
    assert message.to_response(in_channel=False, replace_original=True)["replace_original"] is True
    assert message.to_response(in_channel=False)["response_type"] == "ephemeral"
    assert message.to_post_kwargs()["metadata"] == {"event_type": "x", "event_payload": {}}
    assert "metadata" not in Message(text="hi", blocks=[]).to_post_kwargs()


def test_build_validates() -> None:
    assert build("ok", [DividerBlock()]).blocks == [{"type": "divider"}]
    with pytest.raises(ValueError):
        build("too many", [DividerBlock() for _ in range(51)])
    with pytest.raises(ValueError):
        build("  ", [DividerBlock()])


def test_cut_escaped_never_splits_an_entity() -> None:
    text = esc("a&b", 100)
    assert text == "a&amp;b"
    for limit in range(1, len(text) + 1):
        cut = cut_escaped(text, limit)
        assert len(cut) <= limit
        assert re.search(r"&[a-z]*…$", cut) is None or cut.endswith("&amp;…"), cut


def test_resample_keeps_spikes() -> None:
    values = [0.0] * 600
    values[301] = 9.0
    out = resample(values, 60)
    assert len(out) == 60 and max(out) == 9.0
    assert resample([1, None, 2]) == [1.0, 2.0]


# --- list --------------------------------------------------------------------------------------------------


def test_session_list() -> None:
    message = session_list(AGENT, PAGE.sessions, total_count=57, errors_only=False)
    assert_within_limits(message)
    assert message.blocks[0]["text"]["text"] == "Newest 3 sessions of voice-bot"
    text = body(message)
    for session in PAGE.sessions:
        assert session.session_id in text
    assert "🔴" in text and "✅" in text and "HTTP_ERROR" in text and "57s" in text
    assert "57 sessions in total" in text and "None" not in text


def test_session_list_errors_only_and_empty() -> None:
    errors = [s for s in PAGE.sessions if s.failed][:1]
    message = session_list(AGENT, errors, total_count=1, errors_only=True)
    assert message.blocks[0]["text"]["text"] == "Newest 1 session of voice-bot · errors only"
    empty = session_list(AGENT, [], total_count=0, errors_only=True)
    assert_within_limits(empty)
    assert "No failed sessions found" in body(empty)


def test_session_list_caps_at_25_and_escapes() -> None:
    base = PAGE.sessions[0]
    many = [base.model_copy(update={"completion_status": HOSTILE})] * 40
    message = session_list(HOSTILE, many, total_count=4000, errors_only=False)
    assert_within_limits(message)
    assert_no_raw_markup(message)
    assert body(message).count(base.session_id) == 25
    assert "Showing 25 of 40" in body(message)


# --- stats -------------------------------------------------------------------------------------------------


def test_stats_message() -> None:
    stats = compute_stats(PAGE.sessions, window=timedelta(hours=24), capped=True)
    message = stats_message(AGENT, stats, window_label="24h")
    assert_within_limits(message)
    text = body(message)
    assert "Capped at 3 sessions" in text
    assert "66.7% (2 of 3 ended)" in text  # HTTP_ERROR and ended_before_agent_start, as their badges say
    assert "*Peak memory p95*\\nnot reported" in text
    assert "`HTTP_ERROR` 1" in text
    assert message.blocks[0]["text"]["text"] == "voice-bot · Stats · last 24h"


def test_stats_message_empty_and_hostile() -> None:
    stats = SessionStats(window=timedelta(hours=1), capped=False)
    message = stats_message(HOSTILE, stats, window_label="1h")
    assert_within_limits(message)
    assert_no_raw_markup(message)
    assert "No sessions of" in body(message) and "Capped" not in body(message)


def test_stats_message_many_statuses() -> None:
    stats = SessionStats(
        window=timedelta(days=7), capped=False, count=40, ended=40, by_status={f"S{i}" * 50: 1 for i in range(40)}
    )
    message = stats_message(AGENT, stats, window_label="7d")
    assert_within_limits(message)
    assert "25 more statuses" in body(message)


# --- help, errors ------------------------------------------------------------------------------------------


def test_help_mentions_every_form() -> None:
    message = help_message()
    assert_within_limits(message)
    assert_no_raw_markup(message)
    text = body(message)
    for verb in (
        "list",
        "stats",
        "watch",
        "unwatch",
        "watches",
        "mute",
        "unmute",
        "help",
        "errors",
        "1h|24h|7d",
        "30m|1h|4h|24h",
        "@group",
        "-p",
        "private",
        "agents/",
    ):
        assert verb in text, verb
    assert "&lt;agent&gt; &lt;session-id&gt;" in text and "&lt;agent&gt;/&lt;session-id&gt;" in text


def test_help_with_error_escapes_it() -> None:
    message = help_message(error=f"Unknown verb {HOSTILE}")
    assert_no_raw_markup(message)
    first = message.blocks[0]["text"]["text"]
    assert first.startswith("⚠️ Unknown verb &lt;!channel&gt;")


def test_error_message_and_looking_up() -> None:
    message = error_message("Session <!here> not found", f"detail {HOSTILE}" + "x" * 5000)
    assert_within_limits(message)
    assert_no_raw_markup(message)
    assert message.blocks[0]["text"]["text"].startswith("⚠️ *Session &lt;!here&gt; not found*\ndetail")
    assert error_message("Only a title", "").blocks[0]["text"]["text"] == "⚠️ *Only a title*"
    lookup = looking_up(AGENT, SID)
    assert lookup.blocks[0]["text"]["text"] == f"Looking up `voice-bot/{SID}` …"
    assert looking_up(None, SID).blocks[0]["text"]["text"] == f"Looking up `{SID}` …"
    assert_no_raw_markup(looking_up(HOSTILE, SID))


# --- logs --------------------------------------------------------------------------------------------------


def page_of(*lines: str, total: int | None = None, relation: str = "eq") -> LogPage:
    t0 = datetime(2026, 10, 30, 14, 2, 11, tzinfo=UTC)
    logs = [{"log": s, "timestamp": (t0 + timedelta(seconds=i)).isoformat()} for i, s in enumerate(lines)]
    total_obj = {"value": total or len(lines), "relation": relation}
    return LogPage.model_validate({"total": total_obj, "logs": logs})


def code_blocks(message: Message) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def test_logs_last_lines_in_code_blocks() -> None:
    page = page_of(*(f"line {i}" for i in range(30)), total=120)
    message = logs_message(AGENT, SID, page)
    assert_within_limits(message)
    (block,) = code_blocks(message)
    assert block.startswith("```\n") and block.endswith("\n```")
    assert "line 10" in block and "line 29" in block and "line 9\n" not in block
    assert "14:02:40 line 29" in block
    assert "showing 20 of 120 lines" in body(message)
    assert "showing 20 of 120+ lines" in body(logs_message(AGENT, SID, page_of(*["x"] * 20, total=120, relation="gte")))


def test_logs_sorted_chronologically_when_page_is_newest_first() -> None:
    page = page_of("first", "second", "third")
    reversed_page = page.model_copy(update={"logs": list(reversed(page.logs))})
    (block,) = code_blocks(logs_message(AGENT, SID, reversed_page))
    assert block.index("first") < block.index("second") < block.index("third")


def test_logs_escape_and_defuse_backticks() -> None:
    message = logs_message(AGENT, SID, page_of(f"boom {HOSTILE}", "```rm -rf```", "a ```` b"))
    assert_no_raw_markup(message)
    (block,) = code_blocks(message)
    assert block.count("```") == 2  # only our own fences
    assert "&lt;!channel&gt;" in block and "&amp; co" in block


def test_logs_truncated_and_split_within_limits() -> None:
    lines = ["&" * 4000, "<" * 4000, *("y" * 600 for _ in range(18))]
    message = logs_message(AGENT, SID, page_of(*lines))
    assert_within_limits(message)
    blocks = code_blocks(message)
    assert len(blocks) > 1
    for block in blocks:
        assert len(block) <= 3000 and block.count("```") == 2
        assert re.search(r"&[a-z]{0,3}(?![a-z;])", block) is None, "an entity was split"
    assert "showing 20 of 20 lines" in body(message)


def test_logs_block_limit_keeps_newest() -> None:
    message = logs_message(AGENT, SID, page_of(*(f"{i:04d} " + "z" * 499 for i in range(400))), max_lines=400)
    assert_within_limits(message)
    assert "0399 " in body(message) and "0000 " not in body(message)


def test_logs_empty() -> None:
    message = logs_message(AGENT, SID, LogPage.model_validate({"logs": None}))
    assert_within_limits(message)
    assert "no log lines for this session" in body(message)


def test_logs_without_timestamps_keep_page_order() -> None:
    page = LogPage.model_validate({"logs": [{"log": "b"}, {"log": "a"}, {"log": None}]})
    (block,) = code_blocks(logs_message(AGENT, SID, page))
    assert block == "```\nb\na\n\n```"
    assert "showing 3 of 3 lines" in body(logs_message(AGENT, SID, page))


def test_session_fixture_helpers_parse() -> None:
    assert isinstance(PAGE.sessions[0], Session)
