"""The PagerDuty Events API v2 stand-in (standin.py), refusing what PagerDuty refuses (checks.py)."""
