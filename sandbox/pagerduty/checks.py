"""What the Events API v2 refuses, as a pure function (the stand-in's 400s).

The rules and their wording follow PagerDuty's documentation and the answers it is known to give:
`{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}`, with errors
such as "Length of 'routing_key' is incorrect (should be 32 characters)".
"""

from __future__ import annotations

from typing import Any

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
ROUTING_KEY_LENGTH = 32
SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
#: Events API payloads are limited to 512 KB.
MAX_BODY_BYTES = 512 * 1024


def problems(event: dict[str, Any], known_keys: frozenset[str]) -> list[str]:
    """Every reason PagerDuty would refuse `event`; empty when it is valid."""
    found = _routing_key(event.get("routing_key"), known_keys)
    action = event.get("event_action")
    if not isinstance(action, str) or not action:
        found.append("'event_action' is missing or blank")
    elif action not in ACTIONS:
        found.append("'event_action' must be one of trigger, acknowledge or resolve")
    dedup = event.get("dedup_key")
    if dedup is not None and not isinstance(dedup, str):
        found.append("'dedup_key' must be a string")
    elif isinstance(dedup, str) and len(dedup) > DEDUP_KEY_LIMIT:
        found.append(f"'dedup_key' is too long (maximum is {DEDUP_KEY_LIMIT} characters)")
    if action in ("acknowledge", "resolve") and not dedup:
        found.append("'dedup_key' is missing or blank")
    if action == "trigger":
        found.extend(_payload(event.get("payload")))
    found.extend(_links(event.get("links")))
    found.extend(_images(event.get("images")))
    return found


def _routing_key(key: Any, known_keys: frozenset[str]) -> list[str]:
    if not isinstance(key, str) or not key:
        return ["'routing_key' is missing or blank"]
    found = []
    if len(key) != ROUTING_KEY_LENGTH:
        found.append(f"Length of 'routing_key' is incorrect (should be {ROUTING_KEY_LENGTH} characters)")
    if not key.isalnum() or not key.isascii():
        found.append("'routing_key' cannot contain non-alphanumeric characters.")
    if not found and key not in known_keys:
        found.append("Invalid routing key")
    return found


def _payload(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    found = []
    for name in ("summary", "source"):
        value = payload.get(name)
        if not isinstance(value, str) or not value.strip():
            found.append(f"'payload.{name}' is missing or blank")
    summary = payload.get("summary")
    if isinstance(summary, str) and len(summary) > SUMMARY_LIMIT:
        found.append(f"'payload.summary' is too long (maximum is {SUMMARY_LIMIT} characters)")
    severity = payload.get("severity")
    if not isinstance(severity, str) or not severity:
        found.append("'payload.severity' is missing or blank")
    elif severity not in SEVERITIES:
        found.append("'payload.severity' must be one of critical, error, warning or info")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict | list | str | int | float | bool):
        found.append("'payload.custom_details' is invalid")
    return found


def _links(links: Any) -> list[str]:
    if links is None:
        return []
    if not isinstance(links, list):
        return ["'links' must be an array"]
    return [f"'links[{i}].href' is missing or blank" for i, link in enumerate(links) if not _href(link)]


def _href(link: Any) -> bool:
    return isinstance(link, dict) and isinstance(link.get("href"), str) and bool(link["href"])


def _images(images: Any) -> list[str]:
    """An image needs a `src` served over HTTPS."""
    if images is None:
        return []
    if not isinstance(images, list):
        return ["'images' must be an array"]
    return [
        f"'images[{i}].src' must be an https URL"
        for i, image in enumerate(images)
        if not (isinstance(image, dict) and isinstance(image.get("src"), str) and image["src"].startswith("https://"))
    ]
