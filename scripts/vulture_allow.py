"""Names used where vulture (scripts/test, [tool.vulture] in pyproject.toml) cannot see it: read by
a library or a framework, never called by our code. Vulture only parses this file; it never runs.

Keep it short: a name used by nobody is deleted, not listed here.
"""

# ruff: noqa: B018, F821  (bare names are how vulture reads an allow-list)

# pydantic reads a model's configuration from this class attribute.
_.model_config

# Fields of Pipecat Cloud's answers (bot/pipecat/models.py, read the same way by bot/pipecat/plain.py:
# tests/unit/pipecat/test_plain.py) and of its webhooks (bot/webhooks/events.py) that nothing shows
# yet: declared to describe the wire format, filled by the parsers.
_.cpu_millicores_p90, _.cpu_millicores_p95, _.memory_bytes_p90, _.memory_bytes_p95
_.participant_id, _.replicas_started
_.triggered_by, _.image_uri, _.org_name, _.key_id, _.actor_user_id

# A watch's creator (bot/store/records.py Watch), filled from its column by from_row.
_.created_by

# Bolt calls a middleware object's async_process, passing its arguments by name
# (bot/slack/observe.py ObserveRequest, bot/slack/respond.py GiveRespond).
_.async_process, resp

# uvicorn.Server: it calls capture_signals() and reads should_exit (sandbox/server.py).
_.capture_signals, _.should_exit

# sqlite3 reads isolation_level (bot/store/engine.py); SQLAlchemy's TypeDecorator calls or reads
# the rest (bot/store/types.py).
_.isolation_level, _.impl, _.cache_ok, _.process_bind_param, _.process_result_value

# Alembic reads a revision's module attributes (bot/store/migrations/versions) and passes
# render_item's arguments (bot/store/migrations/env.py).
down_revision, branch_labels, depends_on, downgrade, autogen_context

# pytest: hooks, markers and plugins by name; fixtures asked for by parameter for their effect.
pytest_configure, pytest_sessionfinish, exitstatus, pytestmark, pytest_plugins
socket_app, restore_root
