"""A code block of outside text that is already masked and cut (bot/alerts/health/assess.py `quotable`,
the same way a failure cause is: bot/explain): escaped here, and a ``` inside it defused so it
cannot close the block early."""

from __future__ import annotations

import re

from bot.blocks.format import SECTION_LIMIT, cut_escaped, escape

FENCE = "```"
_BACKTICK_RUN = re.compile(r"`{3,}")
#: Room for the fences inside one section.
_BODY_LIMIT = SECTION_LIMIT - 2 * (len(FENCE) + 1)


def code_block(text: str) -> str:
    body = escape(_BACKTICK_RUN.sub(lambda m: "ʼ" * len(m.group()), text))
    return f"{FENCE}\n{cut_escaped(body, _BODY_LIMIT)}\n{FENCE}"
