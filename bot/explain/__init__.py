"""Explaining alerts: a failed session's cause from its own log, the cause's
fingerprint, and the deployment it ran on. Pure decisions here; I/O in `explainer.py`."""
