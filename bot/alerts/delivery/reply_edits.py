"""Editing thread replies whose session's cause arrived after they were posted (a slow log).

Runs in the delivery pass, under the channel's lease, after the posts. Only edits of posted replies
take a pass's slots: a reply not posted yet keeps its edit for a later pass (its post may have been
rendered before the cause landed), and an edit of a reply that will never be posted (muted, rolled
up, given up) is dropped, so neither can hold up the channel's other edits.
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.delivery.ports import ReplyEditStore, RowMessages
from bot.alerts.delivery.slack_errors import SlackFailure, slack_call
from bot.alerts.delivery.transitions import Refused
from bot.contracts.slack_errors import EDIT_TARGET_GONE

logger = logging.getLogger(__name__)

#: Edits one channel pass makes at most (the rest wait for the next pass).
MAX_EDITS_PER_PASS = 20


class ReplyEditor:
    def __init__(self, *, store: ReplyEditStore, slack: AsyncWebClient, messages: RowMessages) -> None:
        self._store = store
        self._slack = slack
        self._messages = messages

    async def edit_channel(self, channel_id: str) -> int:
        """chat.update every posted reply of the channel that has an edit queued; how many Slack
        took. Raises SlackFailure (a 429, Slack down, the channel refused) to stop the pass; the
        edits stay queued (but for a channel that is gone: that edit can never land)."""
        dropped = await self._store.drop_unpostable_reply_edits(channel_id)
        if dropped:
            logger.info("dropped %d reply edit(s) in %s: their replies will never be posted", dropped, channel_id)
        done = 0
        for row in await self._store.ready_reply_edits(channel_id, MAX_EDITS_PER_PASS):
            if row.posted_ts is None:  # pragma: no cover - ready edits are of posted replies
                continue
            try:
                message, _ = await self._messages.for_row(row)
            except Exception:  # broad: any builder's failure drops the edit, never jams the channel
                logger.exception("cannot render reply %s for its edit; dropping the edit", row.dedup_key)
                await self._store.drop_reply_edit(row.dedup_key)
                continue
            try:
                await slack_call(
                    self._slack.chat_update(channel=row.channel_id, ts=row.posted_ts, **message.to_post_kwargs())
                )
            except SlackFailure as error:
                refused = error.outcome
                if not isinstance(refused, Refused):
                    raise  # a 429 or Slack in trouble: the edit waits for a later pass
                if refused.reason in EDIT_TARGET_GONE:
                    await self._store.drop_reply_edit(row.dedup_key)
                if refused.channel_level:
                    raise
                logger.warning("cannot edit reply %s: %s", row.dedup_key, refused.reason)
            else:
                done += 1
            await self._store.drop_reply_edit(row.dedup_key)
        return done
