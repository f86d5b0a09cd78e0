"""Alerts: watch agents, post failed sessions to on-call channels once each (ARCHITECTURE.md)."""
