"""The Slack stand-in: the Web API methods the app calls, response URLs, Socket Mode, refusing what
real Slack refuses (checks.py) and the faults tests inject (faults.py).
"""
