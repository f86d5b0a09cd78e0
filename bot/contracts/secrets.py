"""The one masker of secret-shaped text: every outside text (Pipecat answers, session logs, health
messages) goes through `mask_secrets` before it reaches Slack, PagerDuty or the terminal, and
before it is stored or hashed. Pure `re`, no other import: the terminal lookup and the Block Kit
builders (layers below bot.explain) use it too.

What is kept: the name or prefix that says *which* secret it was (`ck_[masked]`,
`DB_PASSWORD=[masked]`, `redis://:[masked]@cache`), so the line still tells what went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "[masked]"

#: Pipecat/Stripe-style keys (`sk_live_…`, `pk_…`, `ck_…`): the prefix stays, it tells which key.
_PREFIXED_KEY = re.compile(r"\b(sk|pk|ck|rk)_[A-Za-z0-9_*\-]+")
#: OpenAI/Anthropic-style keys: `sk-…`, `sk-proj-…`, `sk-ant-…` (a dash after `sk`).
_DASHED_KEY = re.compile(r"\bsk-(?!\[masked\])[A-Za-z0-9_\-]{16,}")
#: AWS access key ids (`AKIA…` long-term, `ASIA…` temporary and the other IAM id prefixes).
_AWS_KEY_ID = re.compile(r"\b(AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
#: GitHub tokens (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`, `github_pat_`) and Google API keys.
_OTHER_PREFIXED = re.compile(r"\b(gh[pousr]_|github_pat_|AIza)[A-Za-z0-9_\-]{20,}")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+(?!\[masked\])[^\s\"',;]+", re.IGNORECASE)
#: Slack tokens: xoxb-, xoxp-, xoxa-, xoxr-, xoxs-, xoxo-, xapp-.
_SLACK_TOKEN = re.compile(r"\b(xox[abposr]|xapp)-(?!\[masked\])[A-Za-z0-9\-]+")
#: A password in a URL's user info: `redis://:pw@host`, `postgresql://user:pw@host`.
_URL_PASSWORD = re.compile(r"(?<=://)([^/\s:@\"']*):(?!\[masked\]@)([^/\s@\"']+)@")
#: A name that says its value is secret, as a whole word or the end of one: `password`,
#: `DB_PASSWORD`, `x-api-key`, `aws_secret_access_key`, `GITHUB_TOKEN`, `Authorization`.
_SECRET_NAME = (
    r"[A-Za-z0-9_.\-]*(?:api[_\-]?key|access[_\-]?key|private[_\-]?key|secret[_\-]?key|secret|token"
    r"|passwd|password|pwd|passphrase|credentials?|authorization|auth)"
)
#: A value: quoted whole, or up to a separator. Possessive, so a value already masked by a
#: pattern (`ghp_[masked]`) is skipped whole rather than cut just before its marker.
_VALUE = r"(\"[^\"]*\"|'[^']*'|[^\s&\"',;}\[\]]++(?!\[))"
#: `NAME=value` (env, query string, key=value logs): `*_KEY=` counts too, with `=` only (a
#: `"key": …` in JSON is as often a cache key as a secret).
_ASSIGNED = re.compile(
    rf"(?<![A-Za-z0-9_.\-])({_SECRET_NAME}|[A-Za-z0-9_.\-]*[_\-]key)( ?= ?)(?![=\"']?\[masked\])(?!=)" + _VALUE,
    re.IGNORECASE,
)
#: `name: value` in JSON, YAML, Python reprs and HTTP headers: `"password": "pw"`,
#: `{'x-api-key': 'pw'}`, `x-api-key: pw`, `password: pw`. An auth scheme word (`Bearer …`) is
#: left to _BEARER, which keeps the scheme.
_COLON = re.compile(
    rf"(?<![A-Za-z0-9_.\-])([\"']?)({_SECRET_NAME})\1(\s*:\s*)(?![\"']?\[masked\])(?!(?:Bearer|Basic|Token)\s)"
    + _VALUE,
    re.IGNORECASE,
)
_LONG_HEX = re.compile(r"\b[0-9a-fA-F]{32,}\b")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_\-]{32,}={0,2}")


def _entropy_shaped(run: str) -> bool:
    """A base64-looking run is a secret only when it mixes cases and digits (a long word or a
    path-like run without digits is not)."""
    return any(c.isdigit() for c in run) and any(c.isupper() for c in run) and any(c.islower() for c in run)


def _masked_value(value: str) -> str:
    """The value replaced, its quotes kept (so JSON and reprs still read as such)."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return f"{value[0]}{MASK}{value[0]}"
    return MASK


#: Words one of which every secret name holds (`_SECRET_NAME`, `*_key`), lower-cased.
_NAME_WORDS = ("key", "secret", "token", "pass", "pwd", "credential", "auth")
_SCHEME_WORDS = ("bearer", "basic", "token")


def _any(words: tuple[str, ...], text: str) -> bool:
    return any(word in text for word in words)


#: Each masking step, in order, beside what its pattern cannot match without (`text`, and `low`,
#: the same text lower-cased). Most outside text (names, statuses, short log lines) holds none of
#: these, and a regex scan per step cost more than the rest of rendering a lookup.
_STEPS: tuple[tuple[Callable[[str, str], bool], Callable[[str], str]], ...] = (
    (lambda t, low: "://" in t, lambda t: _URL_PASSWORD.sub(lambda m: f"{m.group(1)}:{MASK}@", t)),
    # Named values first: `GITHUB_TOKEN=ghp_…` loses its whole value, not only what follows a prefix.
    (
        lambda t, low: "=" in t and _any(_NAME_WORDS, low),
        lambda t: _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{_masked_value(m.group(3))}", t),
    ),
    (
        lambda t, low: ":" in t and _any(_NAME_WORDS, low),
        lambda t: _COLON.sub(
            lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{_masked_value(m.group(4))}", t
        ),
    ),
    (lambda t, low: "k_" in t, lambda t: _PREFIXED_KEY.sub(lambda m: f"{m.group(1)}_{MASK}", t)),
    (lambda t, low: "sk-" in t, lambda t: _DASHED_KEY.sub(f"sk-{MASK}", t)),
    (lambda t, low: len(t) >= 20, lambda t: _AWS_KEY_ID.sub(lambda m: f"{m.group(1)}{MASK}", t)),
    (
        lambda t, low: len(t) >= 23 and ("_" in t or "AIza" in t),
        lambda t: _OTHER_PREFIXED.sub(lambda m: f"{m.group(1)}{MASK}", t),
    ),
    (lambda t, low: _any(_SCHEME_WORDS, low), lambda t: _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", t)),
    (lambda t, low: "xox" in t or "xapp-" in t, lambda t: _SLACK_TOKEN.sub(lambda m: f"{m.group(1)}-{MASK}", t)),
    (lambda t, low: len(t) >= 32, lambda t: _LONG_HEX.sub(MASK, t)),
    (
        lambda t, low: len(t) >= 32,
        lambda t: _BASE64_RUN.sub(lambda m: MASK if _entropy_shaped(m.group()) else m.group(), t),
    ),
)


#: The only characters outside ASCII that an ASCII letter matches when a pattern ignores case
#: (İ and ı match `i`, ſ matches `s`, the Kelvin sign matches `k`): folded before the quick checks.
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def mask_every_shape(text: str) -> str:
    """Every step, whatever the text holds: what `mask_secrets` must equal."""
    for _, mask in _STEPS:
        text = mask(text)
    return text


def _folded(text: str) -> str:
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


def mask_secrets(text: str) -> str:
    """Replace every secret-shaped token in `text` with a marker (idempotent)."""
    low = _folded(text)
    for could_match, mask in _STEPS:
        if could_match(text, low):
            text = mask(text)
            low = _folded(text)
    return text
