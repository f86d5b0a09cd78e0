"""Explaining alerts: a failed session's cause from its own log, the cause's fingerprint, the
deployment it ran on, and what changed before it. Pure decisions in `cause.py`, `fingerprint.py`,
`deploys.py`, `hints.py` and `secrets.py`; I/O in `explainer.py`, `lookup.py` and `changes.py`."""
