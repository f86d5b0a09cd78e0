"""What to do next about a cause, where the cause says enough: one table, table-tested.

Pipecat logs a service's failure as `"{processor} exception ({file}:{line}): {error}"` or
`"{processor} error: {error}"`, naming the processor with its instance (`CartesiaTTSService#0`).
The error's class (authentication, authorization, invalid_request, rate_limit, quota,
connectivity, server) is read from the error's own words and HTTP codes; the service names the
provider ("Cartesia") and what it does (text-to-speech). A cause that names no class gets no hint:
a guess would send someone the wrong way at 3 a.m.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Error classes, first match wins: quota before rate_limit (OpenAI says "exceeded your current
#: quota" with a 429), authentication before authorization (a 401 is never a permission problem).
CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "quota",
        re.compile(
            r"quota|insufficient[_ ]?(?:funds|credits?|balance)|out of credits|payment required|\b402\b|billing",
            re.I,
        ),
    ),
    ("rate_limit", re.compile(r"rate[_ -]?limit|too many requests|\b429\b|throttl", re.I)),
    (
        "authentication",
        re.compile(r"authenticat|unauthori[sz]ed|invalid[_ ]?(?:api[_ ]?)?key|invalid_auth|\b401\b", re.I),
    ),
    ("authorization", re.compile(r"forbidden|permission|access denied|not authori[sz]ed to|\b403\b", re.I)),
    (
        "invalid_request",
        re.compile(r"invalid[_ ]request|bad request|\b400\b|unprocessable|\b422\b|not a valid|unsupported", re.I),
    ),
    (
        "connectivity",
        re.compile(
            r"connection ?(?:refused|reset|closed|error|aborted)|ConnectionClosed|timed? ?out|timeout|"
            r"could not connect|cannot connect|name resolution|getaddrinfo|unreachable|ssl",
            re.I,
        ),
    ),
    (
        "server",
        re.compile(r"\b50[0-4]\b|internal server error|server error|service unavailable|bad gateway|overloaded", re.I),
    ),
)

#: What to do, per class; `{provider}` is the service's provider ("Cartesia"), or "the provider".
ADVICE = {
    "quota": "quota exceeded at {provider}: check the plan or the key",
    "rate_limit": "rate-limited by {provider}: check the plan's limits, or how many calls run at once",
    "authentication": "{provider} refused the key: check the API key in the agent's secrets",
    "authorization": "{provider} refused access: check what the key may use (model, voice, project)",
    "invalid_request": "{provider} refused the request as invalid: check the model, voice and settings it was sent",
    "connectivity": "could not reach {provider}: check its status page and the agent's network",
    "server": "{provider} failed on its side: check its status page (usually passes)",
}

#: What the service does, from its class name's suffix (`CartesiaTTSService` → text-to-speech).
KINDS = {
    "TTS": "text-to-speech",
    "STT": "speech-to-text",
    "LLM": "LLM",
    "Realtime": "realtime",
    "S2S": "speech-to-speech",
}

#: `CartesiaTTSService#0`, `OpenAILLMService`, `DeepgramSTTService#12`, `GeminiMultimodalLiveLLMService`.
_SERVICE = re.compile(r"\b(?P<provider>[A-Z][A-Za-z0-9]*?)(?P<kind>TTS|STT|LLM|Realtime|S2S)?Service(?:#\d+)?\b")


@dataclass(frozen=True)
class Hint:
    error_class: str
    #: The provider the service names ("Cartesia"), None when the cause names no service.
    provider: str | None
    #: "text-to-speech" and the like, when the service's name says it.
    kind: str | None
    text: str


def service_of(cause: str) -> tuple[str | None, str | None]:
    """(provider, kind) of the first Pipecat service the cause names, or (None, None)."""
    match = _SERVICE.search(cause)
    if match is None:
        return None, None
    kind = match.group("kind")
    return match.group("provider"), KINDS.get(kind) if kind else None


def error_class(cause: str) -> str | None:
    for name, pattern in CLASSES:
        if pattern.search(cause):
            return name
    return None


def hint_for(cause: str) -> Hint | None:
    """The hint for a cause's text (its headline or quoted lines), or None when its class is unknown."""
    found = error_class(cause)
    if found is None:
        return None
    provider, kind = service_of(cause)
    text = ADVICE[found].format(provider=provider or "the provider")
    if kind is not None and provider is not None:
        text += f" ({kind})"
    return Hint(found, provider, kind, text)
