"""Pipecat Cloud REST API: typed client, models and errors."""
