"""The masker lives in bot/contracts/secrets.py (one masker for every path out: Slack, PagerDuty,
the terminal); re-exported here for the explain pipeline, which masks before it stores or hashes."""

from __future__ import annotations

from bot.contracts.secrets import MASK, mask_secrets

__all__ = ["MASK", "mask_secrets"]
