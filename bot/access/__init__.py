"""Who may use what, where (the allowlists of bot.config.AccessLists), and the audit trail of every use.

Below bot/slack on purpose: the Slack surfaces and `Deps` both use the Gate, and neither is
imported from here.
"""

from bot.access.gate import REFUSED, Gate
from bot.access.policy import refusal

__all__ = ["REFUSED", "Gate", "refusal"]
