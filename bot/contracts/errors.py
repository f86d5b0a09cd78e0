"""Errors more than one layer raises and the command line turns into one clear line."""

from __future__ import annotations


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable.

    Defined here, not in bot/config.py, so the store can raise one (UnsafeDatabaseLocation)
    without importing the settings.
    """

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable
