"""Delivery: the outbox machine that posts each row to Slack exactly once (deliverer.py drives
claim → reconcile → fence → post → apply; transitions.py decides a row's next state;
slack_errors.py turns Slack failures into transitions' outcomes; reconcile.py finds copies already
posted; messages.py renders rows).
"""
