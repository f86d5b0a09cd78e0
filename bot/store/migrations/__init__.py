"""Alembic migrations of the store's schema, shipped inside the package (they run from an install).

The app upgrades its database at start (bot/store/migrate.py), under a lock, so several replicas
may start at once. How a stream adds a revision after changing bot/store/schema.py:

1. `git merge main`, then `.venv/bin/alembic heads`: there must be exactly one head.
2. `.venv/bin/alembic revision --rev-id 0003 -m "what changes"` (the next number after the head):
   a new file versions/0003_what_changes.py, chained on that head (`down_revision`). If another
   stream lands a revision first, merge, renumber yours and chain it on theirs: one head only.
3. Write `upgrade()` with `op.*` calls that match the change to schema.py. SQLite cannot alter
   columns in place: use `with op.batch_alter_table("table") as batch:` for column changes.
   Write `downgrade()` too. Never import bot.store.schema in a revision (it keeps changing).
4. tests/contract/store/test_migrations.py checks that upgrading an empty database to head gives
   exactly schema.py's tables, and upgrades a database with data from the first landed schema.
"""
