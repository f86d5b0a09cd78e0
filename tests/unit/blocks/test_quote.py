"""Quoting outside text: bounded, escaped, secrets masked, fences defused."""

from __future__ import annotations

import pytest

from bot.blocks.quote import MASK, QUOTE_MAX_CHARS, mask_secrets, quote


@pytest.mark.parametrize(
    ("raw", "kept", "hidden"),
    [
        ("key sk_live_51HqLyjWDarjtT1zdp7dc", "sk_" + MASK, "51HqLyjWDarjtT1zdp7dc"),
        ("pk_4f9a8b7c6d5e4f3a2b1c used", "pk_" + MASK, "4f9a8b7c6d5e4f3a2b1c"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", "Bearer " + MASK, "eyJhbGciOiJIUzI1NiJ9"),
        ("token xoxb-1234-5678-abcdefgh", "xoxb-" + MASK, "1234-5678"),
        ("sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", MASK, "9f86d081884c7d65"),
        ("cred QWxhZGRpbjpvcGVuIHNlc2FtZQQWxhZGRpbjpvcGVuIHNlc2FtZQ==", MASK, "QWxhZGRpbjpvcGVu"),
    ],
)
def test_secret_shaped_tokens_are_masked(raw: str, kept: str, hidden: str) -> None:
    masked = mask_secrets(raw)
    assert kept in masked and hidden not in masked


def test_ordinary_text_is_left_alone() -> None:
    line = "ModuleNotFoundError: No module named 'pipecat.services.cartesia' (line 14)"
    assert mask_secrets(line) == line


def test_a_quote_is_escaped_bounded_and_cannot_close_its_code_block() -> None:
    hostile = "<!channel> & <https://evil|click>\n```\nescape\n" + "\n".join(f"line {i}" for i in range(20))
    quoted = quote(hostile)
    assert quoted.startswith("```\n") and quoted.endswith("\n```")
    inner = quoted[4:-4]
    assert "```" not in inner and "<" not in inner and "&lt;!channel&gt; &amp;" in inner
    assert inner.count("\n") == 5 and inner.endswith("…")  # 6 lines, the rest left out
    long_line = quote("x" * 5000)
    assert len(long_line) <= QUOTE_MAX_CHARS + 8
