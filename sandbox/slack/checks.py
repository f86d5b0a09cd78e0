"""Request parsing and the checks Slack applies to a message before accepting it.

`read_args` turns a Web API request into one argument dict (query, form, multipart or JSON, with
JSON-string fields decoded); `message_problem` returns the Slack error a message would earn
(`no_text`, `invalid_blocks`, `invalid_thread_ts`, `invalid_metadata_format`, `msg_too_long`) with details.
`blocks_problems` checks what Slack checks in blocks: counts and lengths, element types per block
(actions, section accessory, context), action ids unique within a block, menu options (text ≤ 75,
value ≤ 150); a view method answers the same problems as `invalid_arguments`.
"""

from __future__ import annotations

import contextlib
import json
import re
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

#: Arguments that Slack accepts as JSON strings in form bodies; decoded back into objects.
JSON_FIELDS = frozenset({"blocks", "attachments", "metadata", "files", "view", "unfurls"})

TS_PATTERN = re.compile(r"[0-9]{1,12}\.[0-9]{1,6}")
MAX_BLOCKS = 50
MAX_TEXT = 40_000
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
BLOCK_ID = 255
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
OPTION_TEXT = 75
OPTION_VALUE = 150
SELECT_OPTIONS = 100
OVERFLOW_OPTIONS = 5

#: Interactive elements an actions block holds (Slack's Block Kit reference, actions block).
ACTIONS_ELEMENT_TYPES = frozenset(
    {
        "button", "checkboxes", "datepicker", "datetimepicker", "overflow", "radio_buttons", "timepicker",
        "workflow_button", "rich_text_input", "static_select", "external_select", "users_select",
        "conversations_select", "channels_select", "multi_static_select", "multi_external_select",
        "multi_users_select", "multi_conversations_select", "multi_channels_select",
    }
)  # fmt: skip
#: A section's accessory: the same, less the inputs-only ones, plus an image.
ACCESSORY_TYPES = (ACTIONS_ELEMENT_TYPES - {"datetimepicker", "rich_text_input"}) | {"image"}
#: A context block shows text and images only.
CONTEXT_ELEMENT_TYPES = frozenset({"mrkdwn", "plain_text", "image"})


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Fields and files (name -> (filename, bytes)) of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    parsed = BytesParser(policy=HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    parts = parsed.get_payload() if parsed.is_multipart() else []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if not isinstance(name, str):
            continue
        if filename is not None:
            files[name] = (filename, data)
        else:
            fields[name] = data.decode("utf-8", "replace")
    return fields, files


def decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value.strip():
            with contextlib.suppress(json.JSONDecodeError):  # else left as is; the checks refuse it
                args[key] = json.loads(value)
    return args


async def read_args(request: Request, body: bytes) -> dict[str, Any]:
    """Query string, then the body (JSON, form or multipart) on top, as Slack merges them."""
    args: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json" and body:
        try:
            decoded = json.loads(body)
        except json.JSONDecodeError:
            decoded = None
        if isinstance(decoded, dict):
            args.update(decoded)
    elif kind == "multipart/form-data":
        fields, files = parse_multipart(content_type, body)
        args.update(fields)
        args.update({name: {"filename": fn, "size": len(data)} for name, (fn, data) in files.items()})
    elif body:
        args.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return decode_json_fields(args)


def _text_of(obj: Any) -> str | None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return None


def _check_len(problems: list[str], value: str | None, limit: int, pointer: str) -> None:
    if value is not None and len(value) > limit:
        problems.append(f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]")


def _check_options(problems: list[str], element: dict[str, Any], pointer: str) -> None:
    """Options of a menu, overflow, radio or checkbox group: text ≤ 75, value ≤ 150, and a count."""
    groups = element.get("option_groups")
    listed: list[tuple[str, Any]] = []
    if isinstance(groups, list):
        for g, group in enumerate(groups):
            options = group.get("options") if isinstance(group, dict) else None
            listed += [(f"{pointer}/option_groups/{g}/options/{i}", o) for i, o in enumerate(options or [])]
    elif "options" in element:
        options = element.get("options")
        if not isinstance(options, list) or not options:
            problems.append(f"[ERROR] must provide at least 1 option [json-pointer:{pointer}/options]")
            return
        listed = [(f"{pointer}/options/{i}", o) for i, o in enumerate(options)]
    limit = OVERFLOW_OPTIONS if element.get("type") == "overflow" else SELECT_OPTIONS
    if len(listed) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}/options]")
    for where, option in listed:
        if not isinstance(option, dict) or _text_of(option.get("text")) is None:
            problems.append(f"[ERROR] must provide an option with text [json-pointer:{where}]")
            continue
        _check_len(problems, _text_of(option.get("text")), OPTION_TEXT, f"{where}/text/text")
        _check_len(problems, option.get("value"), OPTION_VALUE, f"{where}/value")


def _check_element(problems: list[str], element: Any, pointer: str, allowed: frozenset[str]) -> None:
    if not isinstance(element, dict):
        problems.append(f"[ERROR] must be an object [json-pointer:{pointer}]")
        return
    if element.get("type") not in allowed:
        problems.append(f"[ERROR] unsupported type: {element.get('type')} [json-pointer:{pointer}/type]")
        return
    _check_len(problems, element.get("action_id"), ACTION_ID, f"{pointer}/action_id")
    if element.get("type") == "button":
        _check_len(problems, _text_of(element.get("text")), BUTTON_TEXT, f"{pointer}/text/text")
        _check_len(problems, element.get("value"), BUTTON_VALUE, f"{pointer}/value")
    _check_options(problems, element, pointer)


def repeated_action_ids(block: Any) -> list[tuple[int, str]]:
    """(element index, action_id) of each element whose action_id an earlier element of the same
    block already has. Slack refuses the whole message ("action_id … already exists"): ids must be
    unique per block. The one rule the stand-in and tests/blocks_checks.py both apply."""
    elements = block.get("elements") if isinstance(block, dict) else None
    seen: set[str] = set()
    repeated: list[tuple[int, str]] = []
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if not isinstance(action_id, str):
            continue
        if action_id in seen:
            repeated.append((i, action_id))
        seen.add(action_id)
    return repeated


#: Block types Slack accepts in messages and views; any other type is refused with invalid_blocks.
KNOWN_BLOCK_TYPES = frozenset(
    {"actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text", "section", "video"}
)


def _check_block(problems: list[str], block: dict[str, Any], pointer: str) -> None:
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        problems.append(f"[ERROR] unsupported type: {kind} [json-pointer:{pointer}/type]")
        return
    _check_len(problems, block.get("block_id"), BLOCK_ID, f"{pointer}/block_id")
    if kind == "section":
        text, fields = _text_of(block.get("text")), block.get("fields")
        if text is None and not fields:
            problems.append(f"[ERROR] must provide text or fields [json-pointer:{pointer}]")
        if text is not None and not text:
            problems.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text/text]")
        _check_len(problems, text, SECTION_TEXT, f"{pointer}/text/text")
        if isinstance(fields, list):
            if len(fields) > SECTION_FIELDS:
                problems.append(f"[ERROR] at most {SECTION_FIELDS} items [json-pointer:{pointer}/fields]")
            for i, f in enumerate(fields):
                _check_len(problems, _text_of(f), FIELD_TEXT, f"{pointer}/fields/{i}/text")
        if block.get("accessory") is not None:
            _check_element(problems, block["accessory"], f"{pointer}/accessory", ACCESSORY_TYPES)
    elif kind == "header":
        _check_len(problems, _text_of(block.get("text")), HEADER_TEXT, f"{pointer}/text/text")
    elif kind in ("actions", "context"):
        elements = block.get("elements")
        limit = ACTIONS_ELEMENTS if kind == "actions" else CONTEXT_ELEMENTS
        if not isinstance(elements, list) or not elements or len(elements) > limit:
            problems.append(f"[ERROR] must provide 1 to {limit} elements [json-pointer:{pointer}/elements]")
        elif kind == "actions":
            for i, element in enumerate(elements):
                _check_element(problems, element, f"{pointer}/elements/{i}", ACTIONS_ELEMENT_TYPES)
            for i, action_id in repeated_action_ids(block):
                problems.append(
                    f"[ERROR] action_id {action_id!r} already exists [json-pointer:{pointer}/elements/{i}/action_id]"
                )
        else:
            for i, element in enumerate(elements):
                kind_of = element.get("type") if isinstance(element, dict) else None
                if kind_of not in CONTEXT_ELEMENT_TYPES:
                    problems.append(f"[ERROR] unsupported type: {kind_of} [json-pointer:{pointer}/elements/{i}/type]")


def blocks_problems(blocks: Any, *, limit: int = MAX_BLOCKS) -> list[str]:
    """Slack-style `response_metadata.messages` for blocks Slack would refuse; empty when fine."""
    if not isinstance(blocks, list):
        return ["[ERROR] blocks must be an array [json-pointer:/blocks]"]
    problems: list[str] = []
    if len(blocks) > limit:
        problems.append(f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        pointer = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(f"[ERROR] must be a block object with a type [json-pointer:{pointer}]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen_ids:
                problems.append(f"[ERROR] duplicate block_id {block_id!r} [json-pointer:{pointer}/block_id]")
            seen_ids.add(block_id)
        _check_block(problems, block, pointer)
    return problems


def message_problem(args: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(error, details) when Slack would refuse this message, else None."""
    text, blocks, metadata = args.get("text"), args.get("blocks"), args.get("metadata")
    thread_ts = args.get("thread_ts")
    if thread_ts and not (isinstance(thread_ts, str) and TS_PATTERN.fullmatch(thread_ts)):
        return "invalid_thread_ts", [f"[ERROR] {thread_ts} is not a valid thread_ts"]
    if blocks is not None:
        problems = blocks_problems(blocks)
        if problems:
            return "invalid_blocks", problems
    if not text and not blocks and not args.get("attachments"):
        return "no_text", []
    if isinstance(text, str) and len(text) > MAX_TEXT:
        return "msg_too_long", []
    if metadata is not None and not (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and metadata["event_type"]
        and isinstance(metadata.get("event_payload", {}), dict)
    ):
        return "invalid_metadata_format", []
    return None


#: The bot-token scopes each method needs (Slack's "Required scopes" per method); a method absent
#: here needs none (auth.test, chat.getPermalink, views.*). A channel method takes the scope of the
#: channel's kind: the stand-in's channels are public, so `channels:*`.
METHOD_SCOPES: dict[str, str] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.history": "channels:history",
    "conversations.replies": "channels:history",
    "conversations.info": "channels:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}


def scope_problem(method: str, granted: list[str]) -> dict[str, Any] | None:
    """Slack's answer when the token lacks the method's scope, naming what was needed and what the
    token has: `{"ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "…"}`."""
    needed = METHOD_SCOPES.get(method)
    if needed is None or needed in granted:
        return None
    return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(granted)}
