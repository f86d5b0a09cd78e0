"""Shared contracts, each defined once: ids, patterns and formats that several layers must agree on.

This package is the bottom layer: it imports nothing else from `bot`, so every layer may use it.
Renaming anything here renames it everywhere; the tests in tests/unit/contracts check that each
contract is used by both of its sides.
"""
