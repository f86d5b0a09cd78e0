"""health.message quoted the way a failure cause is: masked and cut (quotable), then escaped and
fenced (code_block) so outside text can neither ping nor close the block early."""

from __future__ import annotations

from bot.alerts.health.assess import quotable
from bot.blocks.quote import code_block

TRACEBACK = "\n".join(
    [
        "Traceback (most recent call last):",
        *[f'  File "/app/mod{i}.py", line {i}, in f{i}' for i in range(12)],
        "RuntimeError: token sk_live_51HqLyjWDarjtT1zdp7dc refused; Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x",
    ]
)


def test_a_long_traceback_keeps_its_first_and_exception_lines_within_six_lines_and_600_chars() -> None:
    quoted = quotable(TRACEBACK)
    assert quoted is not None
    lines = quoted.split("\n")
    assert len(lines) <= 6 and len(quoted) <= 600
    assert lines[0] == "Traceback (most recent call last):" and lines[-1].startswith("RuntimeError:")
    assert "51HqLyjWDarjtT1zdp7dc" not in quoted and "eyJhbGciOiJIUzI1NiJ9" not in quoted
    assert quoted.count("[masked]") == 2 and "Bearer [masked]" in quoted


def test_nothing_to_quote_is_none() -> None:
    assert quotable(None) is None and quotable("  \n ") is None


def test_a_code_block_is_escaped_and_cannot_be_closed_early() -> None:
    block = code_block("<!channel> & <https://evil|click>\n```\nafter")
    assert block.startswith("```\n") and block.endswith("\n```")
    inner = block[4:-4]
    assert "```" not in inner and "<" not in inner and "&lt;!channel&gt; &amp;" in inner
    assert len(code_block("x" * 10_000)) <= 3000
