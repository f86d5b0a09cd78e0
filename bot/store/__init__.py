"""Persistence for watches, polling and alert delivery (tables: bot/store/schema.py)."""

from bot.store.base import LeaseLost
from bot.store.engine import UnsafeDatabaseLocation, engine_url, is_connection_error
from bot.store.store import Store

__all__ = ["LeaseLost", "Store", "UnsafeDatabaseLocation", "engine_url", "is_connection_error"]
