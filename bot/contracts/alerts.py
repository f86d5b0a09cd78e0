"""What alert posts carry and how long a mute lasts: shared by blocks/, alerts/ and slack/."""

from __future__ import annotations

from datetime import timedelta

#: `metadata.event_type` of every alert post: delivery reconciles against channel history with it
#: and the lookup shortcut finds the session in it.
ALERT_EVENT_TYPE = "pipecat_ops_alert"

#: Every mute `/session mute <agent> <duration>` accepts, by its label.
MUTE_DURATIONS: dict[str, timedelta] = {
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "24h": timedelta(hours=24),
}
#: How `/session mute` is written (help and usage errors).
MUTE_USAGE = "mute <agent> <" + "|".join(MUTE_DURATIONS) + ">"
#: The labels an incident's Mute menu offers (a subset of MUTE_DURATIONS, in menu order).
MUTE_MENU = ("1h", "4h", "24h")
