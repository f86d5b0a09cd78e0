"""Slack surfaces: one `register(app, deps)` per surface."""
