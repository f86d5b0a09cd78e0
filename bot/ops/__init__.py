"""Operating the app: metrics, health, structured logs, the `check` command."""
