"""PagerDuty escalation: incidents of paging watches become PagerDuty alerts (pager.py; plan.py
decides the next event; delivery.py sends them from the outbox).
"""
