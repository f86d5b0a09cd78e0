"""In-memory stand-ins for the store's ports (bot/*/ports.py), for tests of one stage at a time."""
