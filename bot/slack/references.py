"""Find session ids in a Slack message and the agent hints around them (pure; id and name patterns:
bot/contracts/names.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.contracts.alerts import ALERT_EVENT_TYPE
from bot.contracts.names import AGENT_NAME_PATTERN as _AGENT
from bot.contracts.names import UUID_PATTERN, is_agent_name

MAX_REFERENCES = 5
_UUID = re.compile(UUID_PATTERN)
_URL_FORM = re.compile(rf"agents/({_AGENT})/[^\s<>|]*?({UUID_PATTERN})")
_SLASH_FORM = re.compile(rf"(?<![A-Za-z0-9_/-])({_AGENT})/({UUID_PATTERN})")
_LABEL_FORM = re.compile(rf"\bagent\s*[:=]\s*[`*_]*({_AGENT})", re.IGNORECASE)
_WORD = re.compile(_AGENT)
#: Path words that look like agent names in `…/sessions/<id>` but never are.
_NOT_AGENTS = frozenset({"sessions", "session", "agents", "services", "logs"})


@dataclass(frozen=True)
class SessionReference:
    session_id: str
    agent_hint: str | None  # from the text itself; None: resolve from org agents, watches, default


@dataclass(frozen=True)
class MessageReferences:
    """What a message names: its sessions (each with its own agent hint) and its agents."""

    #: Every distinct session id, in the order the message gives them (not cut at MAX_REFERENCES).
    sessions: list[SessionReference]
    #: Every agent the message names (labels, `agent/id`, links, organization agent names), in
    #: order: tried for an id whose own hint does not have it.
    agents: list[str]

    @property
    def looked_up(self) -> list[SessionReference]:
        return self.sessions[:MAX_REFERENCES]

    @property
    def over_limit(self) -> list[str]:
        """Ids past MAX_REFERENCES: named to the user, not looked up."""
        return [r.session_id for r in self.sessions[MAX_REFERENCES:]]


def message_texts(message: dict[str, Any]) -> list[str]:
    """Every piece of text a message carries: text, blocks, attachments (recursively)."""
    texts: list[str] = []
    if isinstance(message.get("text"), str):
        texts.append(message["text"])
    texts.extend(_walk_strings(message.get("blocks") or []))
    texts.extend(_walk_strings(message.get("attachments") or []))
    return texts


def _walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in ("type", "style", "block_id", "action_id", "image_url", "color"):
                yield from _walk_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_strings(item)


def find_references(message: dict[str, Any], known_agents: Iterable[str] = ()) -> list[SessionReference]:
    """Up to MAX_REFERENCES distinct sessions, each with the best agent hint the message gives."""
    return scan_message(message, known_agents).looked_up


def scan_message(message: dict[str, Any], known_agents: Iterable[str] = ()) -> MessageReferences:
    """Every session the message names, each with its own agent hint: `agent/id`, an
    `agents/<agent>/` link or our alert's metadata first; else the agent named on the id's own line
    (`agent: name` or an organization agent name, the nearest before the id, else after it); else
    the first agent the message names anywhere."""
    known = {a.lower(): a for a in known_agents}
    hints: dict[str, str | None] = {}
    named: list[str] = []
    meta = _metadata_reference(message)
    if meta is not None:
        hints[meta.session_id] = meta.agent_hint
        if meta.agent_hint:
            named.append(meta.agent_hint)
    texts = message_texts(message)
    on_line: dict[str, str] = {}
    for text in texts:
        for match in _URL_FORM.finditer(text):
            _hint(hints, match.group(2), match.group(1))
            named.append(match.group(1))
        for match in _SLASH_FORM.finditer(text):
            if match.group(1).lower() not in _NOT_AGENTS:
                _hint(hints, match.group(2), match.group(1))
                named.append(match.group(1))
        for found in _UUID.findall(text):
            hints.setdefault(found.lower(), None)
        for line in text.splitlines():
            mentions = _mentions(line, known)
            named.extend(agent for _, agent in mentions)
            for match in _UUID.finditer(line):
                agent = _nearest(mentions, match.start(), match.end())
                if agent is not None:
                    on_line.setdefault(match.group().lower(), agent)
    agents = list(dict.fromkeys(named))
    whole = "\n".join(texts)
    fallback = _label_agent(whole) or _known_agent_word(whole, known.values())
    sessions = [SessionReference(sid, hint or on_line.get(sid) or fallback) for sid, hint in hints.items()]
    return MessageReferences(sessions, agents)


def _mentions(line: str, known: dict[str, str]) -> list[tuple[int, str]]:
    """Where a line names an agent: `agent: name` labels and organization agent names, by position."""
    found = [(m.start(1), m.group(1)) for m in _LABEL_FORM.finditer(line)]
    found += [(m.start(), known[m.group().lower()]) for m in _WORD.finditer(line) if m.group().lower() in known]
    return sorted(found)


def _nearest(mentions: list[tuple[int, str]], start: int, end: int) -> str | None:
    before = [agent for at, agent in mentions if at < start]
    if before:
        return before[-1]
    after = [agent for at, agent in mentions if at >= end]
    return after[0] if after else None


def _hint(hints: dict[str, str | None], session_id: str, agent: str) -> None:
    key = session_id.lower()
    if hints.get(key) is None:
        hints[key] = agent


def _metadata_reference(message: dict[str, Any]) -> SessionReference | None:
    metadata = message.get("metadata")
    if not isinstance(metadata, dict) or metadata.get("event_type") != ALERT_EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    if not isinstance(payload, dict):
        return None
    session_id, agent = payload.get("session_id"), payload.get("agent")
    if not isinstance(session_id, str) or not _UUID.fullmatch(session_id):
        return None
    # Our own alerts carry their facts in message metadata; the agent is re-checked all the same.
    return SessionReference(session_id.lower(), agent if isinstance(agent, str) and is_agent_name(agent) else None)


def _label_agent(text: str) -> str | None:
    match = _LABEL_FORM.search(text)
    return match.group(1) if match else None


def _known_agent_word(text: str, known_agents: Iterable[str]) -> str | None:
    known = {a.lower(): a for a in known_agents}
    if not known:
        return None
    for word in _WORD.findall(text):
        if word.lower() in known:
            return known[word.lower()]
    return None
