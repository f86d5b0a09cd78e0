"""The Pipecat Cloud simulator: the REST API (agents, sessions, logs) and its webhooks on a clock
tests control (simulator.py), with a traffic model (traffic.py).
"""
