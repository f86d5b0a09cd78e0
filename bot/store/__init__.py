"""Persistence for watches, polling and alert delivery (design.md §5)."""

from bot.store.base import LeaseLost
from bot.store.engine import UnsafeDatabaseLocation, engine_url, is_connection_error
from bot.store.store import Store

__all__ = ["LeaseLost", "Store", "UnsafeDatabaseLocation", "engine_url", "is_connection_error"]
