"""Incidents: grouping a channel's alerts into incident threads (keeper.py under the channel lease;
decide.py the pure grouping and roll-up decisions).
"""
