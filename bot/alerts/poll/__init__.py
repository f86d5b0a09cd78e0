"""Polling: find the sessions of watched agents that ended, and record them with their alerts
(poller.py; plan.py decides what one poll records; notices.py the outage notices).
"""
