"""Rate alerts: the detectors of bot/rates evaluated after each poll cycle (watch.py), and what
`/session rates` shows (view.py).
"""
