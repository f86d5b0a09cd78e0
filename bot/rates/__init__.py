"""Rates of an agent's sessions: per-minute counts, regression and silence detectors, SLO burn.

Pure: counting (`counts`), the detectors (`detectors`), SLO burn rates (`slo`) and their named
constants (`policy`, re-exported by bot/alerts/policy.py). The store keeps the counts
(bot/store/rates.py); bot/alerts/rates/watch.py evaluates them after every poll.
"""
