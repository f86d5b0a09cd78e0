"""`respond()` over one shared HTTP session: Bolt's own opens a new aiohttp session, and so a new
TCP connection, for every response_url post (most of what answering cost after the lookup itself).

`GiveRespond` is a Bolt middleware that gives every request a PooledRespond before its listener
runs; the session is opened on first use and closed by the runtime on shutdown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient
from slack_sdk.webhook.webhook_response import WebhookResponse

#: A response_url post gives up after this long (slack_sdk's own default).
RESPONSE_TIMEOUT_SECONDS = 30


class ResponseSession:
    """The one aiohttp session response_url posts go through."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RESPONSE_TIMEOUT_SECONDS))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class PooledRespond(AsyncRespond):
    def __init__(self, *, response_url: str | None, session: ResponseSession) -> None:
        super().__init__(response_url=response_url)
        self._session = session

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        client = AsyncWebhookClient(url=self.response_url, session=self._session.get())
        if isinstance(text, dict):
            return await client.send_dict(_build_message(**text))
        message = _build_message(
            text=text,
            blocks=blocks,
            attachments=attachments,
            response_type=response_type,
            replace_original=replace_original,
            delete_original=delete_original,
            unfurl_links=unfurl_links,
            unfurl_media=unfurl_media,
            thread_ts=thread_ts,
            metadata=metadata,
        )
        return await client.send_dict(message)


class GiveRespond(AsyncMiddleware):
    """Gives every request with a response_url a `PooledRespond` before its listener runs (a
    middleware object: Bolt builds a function middleware's arguments by inspection per request)."""

    def __init__(self, session: ResponseSession) -> None:
        self._session = session

    async def async_process(
        self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        if req.context.response_url is not None:
            req.context["respond"] = PooledRespond(response_url=req.context.response_url, session=self._session)
        return await next()
