"""The one masker (bot/contracts/secrets.py): one row per secret shape a log line or an API answer
carries. The name or prefix stays (it says which secret), the value goes; masking twice changes
nothing; text that only looks busy (paths, ids, exceptions) is left alone."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.contracts.secrets import MASK, mask_every_shape, mask_secrets

PW = "Hunter2Pass"
#: A value that holds no secret-name word itself (PW holds "pass").
VALUE = "Xy7Qz9Wv"

SHAPES = {
    "url password, no user": (f"cannot reach redis://:{PW}@cache.internal:6379/0", f"redis://:{MASK}@cache.internal"),
    "url user and password": (f"postgresql://app:{PW}@db:5432/orders", f"postgresql://app:{MASK}@db:5432"),
    "env assignment": (f"bad settings: DB_PASSWORD={PW} DB_HOST=db", f"DB_PASSWORD={MASK} DB_HOST=db"),
    "*_KEY=": (f"STRIPE_KEY={PW}", f"STRIPE_KEY={MASK}"),
    "*_SECRET=": (f"CLIENT_SECRET='{PW}'", f"CLIENT_SECRET='{MASK}'"),
    "*_TOKEN=": (f"GITHUB_TOKEN=ghp_{PW}abcdefghijklmnop", f"GITHUB_TOKEN={MASK}"),
    "*PASSWORD= spaced": (f"REDISPASSWORD = {PW}", f"REDISPASSWORD = {MASK}"),
    "json": (f'settings {{"db_password": "{PW}", "user": "app"}}', f'"db_password": "{MASK}", "user": "app"'),
    "yaml": (f"  password: {PW}", f"password: {MASK}"),
    "python repr header": (f"401 for headers {{'x-api-key': '{PW}'}}", f"'x-api-key': '{MASK}'"),
    "http header": (f"x-api-key: {PW}", f"x-api-key: {MASK}"),
    "aws key id": ("InvalidClientTokenId for AKIAIOSFODNN7EXAMPLE", f"for AKIA{MASK}"),
    "aws temporary key id": ("temporary credentials ASIAIOSFODNN7EXAMPLE expired", f"ASIA{MASK}"),
    "openai project key": ("auth failed for sk-proj-Ab3dEf6hIj9kLm2nOp5q", f"for sk-{MASK}"),
    "anthropic key": ("bad key sk-ant-api03-Ab3dEf6hIj9kLm2nOp5q", f"key sk-{MASK}"),
    "pipecat key": ("quota exceeded for key ck_live_4f9a8b7c6d5e", f"key ck_{MASK}"),
    "bearer": ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", f"Authorization: Bearer {MASK}"),
    "slack token": ("slack xoxb-1234-5678-abcdEFGH leaked", f"xoxb-{MASK} leaked"),
    "query string": ("GET /x?api_key=s3cr3t&n=1", f"api_key={MASK}&n=1"),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_each_secret_shape_is_masked(shape: str) -> None:
    text, kept = SHAPES[shape]
    masked = mask_secrets(text)
    assert PW not in masked and "IOSFODNN7EXAMPLE" not in masked and "Ab3dEf6h" not in masked
    assert "4f9a8b" not in masked and "s3cr3t" not in masked and "abcdEFGH" not in masked
    assert kept in masked, masked
    assert mask_secrets(masked) == masked  # idempotent: stored text masked again is unchanged


@pytest.mark.parametrize(
    "text",
    [
        "KeyError: 'voice'",
        "https://api.pipecat.daily.co:443/v1/agents/voice-bot",
        "session 81f4da55-106d-401f-b069-a1f1992f871a ended",
        "/usr/local/lib/python3.12/site-packages/pipecat/services",
        "user@example.com wrote: hello",
        "monkey patched in tasks.py:12",
    ],
)
def test_what_is_not_a_secret_is_left_alone(text: str) -> None:
    assert mask_secrets(text) == text


#: Pieces of every shape above (names, separators, prefixes, schemes, quotes), so generated text
#: holds secrets, near-misses and their mixtures.
PIECES = [
    "DB_PASSWORD",
    "api_key",
    "X-Api-Key",
    "Authorization",
    "token",
    "TOKEN",
    "secret",
    "auth",
    "pwd",
    "credentials",
    "_key",
    "=",
    " = ",
    ": ",
    ":",
    '"',
    "'",
    "{",
    "}",
    "&",
    ";",
    " ",
    "\n",
    "://",
    "@",
    "redis",
    "user",
    "sk_live_",
    "ck_",
    "sk-proj-",
    "AKIA",
    "ASIA",
    "ghp_",
    "github_pat_",
    "AIza",
    "Bearer ",
    "basic ",
    "xoxb-",
    "xapp-",
    "[masked]",
    "4f9a8b7c6d5e4f9a8b7c6d5e4f9a8b7c",
    "Ab3dEf6hIj9kLm2n",
    "IOSFODNN7EXAMPLE",
    "voice-bot",
    "ended",
    "K",
    "k",
    "\u212a",
    "\u017f",
    "\u0130",
    "\u0131",
    "\u00e9",
    "…",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=6)), max_size=14).map("".join))
def test_the_quick_checks_never_skip_a_secret(text: str) -> None:
    """`mask_secrets` skips a pattern when its text cannot hold it; it must mask exactly as running
    every pattern does (text with the letters that case-folding matches to ASCII ones included)."""
    assert mask_secrets(text) == mask_every_shape(text)


@pytest.mark.parametrize(
    "text",
    [f"credent\u0131al: {VALUE}", f"pa\u017f\u017fword={VALUE}", f"API_\u212aEY={VALUE}", f"CREDENT\u0130ALS: {VALUE}"],
    ids=["dotless i", "long s", "Kelvin sign", "dotted capital I"],
)
def test_a_secret_name_spelled_with_letters_that_fold_to_ascii_is_masked(text: str) -> None:
    """Ignoring case, `re` matches these four letters to ASCII ones: the quick checks must too."""
    assert VALUE not in mask_secrets(text)
    assert mask_secrets(text) == mask_every_shape(text)
