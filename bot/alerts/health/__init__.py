"""Agent health and capacity: status reads (watcher.py), pure assessment (assess.py) and state
machine (states.py), their outbox rows (posts.py) and messages (messages.py).
"""
