"""What tells an operator whether the app can work: GET /healthz (health.py) and `python -m bot check` (check.py)."""
