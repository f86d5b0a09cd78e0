"""Editing thread replies whose session's cause arrived after they were posted (a slow log).

Runs in the delivery pass, under the channel's lease, after the posts: a reply not posted yet
keeps its edit for a later pass (its post may have been rendered before the cause landed).
"""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts.messages import MessageFactory
from bot.alerts.slack_errors import Permanent, slack_call
from bot.store import Store
from bot.store.records import DEAD, SENT

logger = logging.getLogger(__name__)

#: Edits one channel pass makes at most (the rest wait for the next pass).
MAX_EDITS_PER_PASS = 20


class ReplyEditor:
    def __init__(self, *, store: Store, slack: AsyncWebClient, messages: MessageFactory) -> None:
        self._store = store
        self._slack = slack
        self._messages = messages

    async def edit_channel(self, channel_id: str) -> int:
        """chat.update every posted reply of the channel that has an edit queued. Raises
        SlackFailure (a 429, Slack down) to stop the pass; the edits stay queued."""
        done = 0
        for key in (await self._store.reply_edits(channel_id))[:MAX_EDITS_PER_PASS]:
            row = await self._store.outbox_row_by_key(key)
            if row is None or row.state == DEAD:
                await self._store.drop_reply_edit(key)
                continue
            if row.state != SENT or row.posted_ts is None:
                continue  # not posted yet: edit it once it is
            message, _ = await self._messages.for_row(row)
            try:
                await slack_call(
                    self._slack.chat_update(channel=row.channel_id, ts=row.posted_ts, **message.to_post_kwargs())
                )
            except Permanent as error:
                if error.channel_level:
                    raise
                logger.warning("cannot edit reply %s: %s", key, error.reason)
            await self._store.drop_reply_edit(key)
            done += 1
        return done
