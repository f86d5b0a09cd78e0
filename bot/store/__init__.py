"""Persistence for watches, polling and alert delivery (design.md §5)."""

from bot.store.base import LeaseLost
from bot.store.engine import engine_url
from bot.store.store import Store

__all__ = ["LeaseLost", "Store", "engine_url"]
