"""What a feature does in each channel's delivery pass, declared: the deliverer calls it under the
channel's lease and knows nothing else of it. The incident keeper (bot/alerts/incidents/keeper.py)
is the one implementation; bot/wiring.py plugs it in."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from bot.alerts.delivery.slack_errors import SlackFailure


class ChannelPassHooks(Protocol):
    @property
    def window(self) -> timedelta:
        """Failures this close together share an incident: a channel quiet for longer has work
        (closing its incident)."""
        ...

    async def close_quiet(self, channel_id: str) -> int:
        """Close the channel's incidents quiet for `window`; how many."""
        ...

    async def route(self, channel_id: str) -> None:
        """Give the channel's new alert rows their threads (opening incidents as needed)."""
        ...

    async def summarise_undelivered(self, channel_id: str) -> None:
        """Post one summary of the channel's given-up alerts once it delivers again."""
        ...

    async def render_dirty(self, channel_id: str, owner: str) -> int:
        """Edit the channel's posts whose state changed; how many edits Slack took."""
        ...

    async def channel_failure(self, channel_id: str, error: SlackFailure) -> None:
        """A failure outside a row's post (an edit): the channel backs off or is marked broken."""
        ...
