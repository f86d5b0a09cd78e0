"""The kinds of notice a channel gets about an agent's polling: one name each, used by the poll
that enqueues them (bot/alerts/poll/notices.py), the payload that stores them
(bot/store/payloads.py `NoticePayload`), the keys that deduplicate them and the messages that
render them (bot/alerts/delivery/messages.py)."""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    #: Pipecat Cloud could not be reached for the agent.
    OUTAGE = "outage"
    #: All well again after an outage or failing polls.
    RECOVERY = "recovery"
    #: The agent's polls fail on what Pipecat sent (not on reaching it).
    POLL_FAILED = "poll_failed"
    #: One session could not be processed and was recorded as seen.
    BAD_ITEM = "bad_item"
