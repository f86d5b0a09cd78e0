"""Block Kit models to the dicts Slack takes: what slack_sdk's `to_dict()` returns, checked by the
same validators (`validate_json`: lengths, required fields, counts), in one walk.

slack_sdk's generic `JsonObject.to_dict` serializes each nested object and then walks its result
again, and recomputes each object's attribute set from its class chain; for a lookup's summary
that was most of the rendering (bench/ack.py under py-spy). Objects whose class serializes itself
(an own `to_dict`, such as `Option` or `ConfirmObject`) are left to it.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.basic_objects import EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST, JsonObject

#: (type, property) pairs whose empty list Slack accepts (slack_sdk's own table).
_EMPTY_ALLOWED = frozenset((entry["type"], entry["property"]) for entry in EMPTY_ALLOWED_TYPE_AND_PROPERTY_LIST)
#: Per class: its JSON keys in slack_sdk's order, or None when the class serializes itself. The
#: `attributes` of every Block Kit class is a constant of the class (literal sets joined up the
#: class chain), so it is read once per class, from its first instance.
_KEYS: dict[type, tuple[str, ...] | None] = {}


def _keys(obj: JsonObject) -> tuple[str, ...] | None:
    cls = type(obj)
    if cls not in _KEYS:
        generic = (
            cls.to_dict is JsonObject.to_dict
            and cls.get_non_null_attributes is JsonObject.get_non_null_attributes
            and cls.get_object_attribute is JsonObject.get_object_attribute
        )
        _KEYS[cls] = tuple(sorted(obj.attributes)) if generic else None
    return _KEYS[cls]


def block_dict(obj: JsonObject) -> dict[str, Any]:
    """`obj.to_dict()`: the same dict, and the same SlackObjectFormationError for an invalid one."""
    keys = _keys(obj)
    if keys is None:
        own: dict[str, Any] = obj.to_dict()
        return own
    obj.validate_json()
    kind = getattr(obj, "type", None)
    out: dict[str, Any] = {}
    for key in keys:
        value = getattr(obj, key, None)
        if value is None:
            continue
        if hasattr(value, "__len__") and not len(value) and (kind, key) not in _EMPTY_ALLOWED:
            continue
        out[key] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, JsonObject) and _keys(value) is not None:
        return block_dict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):  # a class of its own serialization; what it returns is walked as slack_sdk does
        return {key: _plain(item) for key, item in to_dict().items()}
    return value
