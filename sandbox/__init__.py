"""Stand-ins for the outside world: Pipecat Cloud simulator, Slack Web API stand-in, demo page."""
