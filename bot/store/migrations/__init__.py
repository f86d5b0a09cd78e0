"""Alembic migrations of the store's schema, shipped inside the package (they run from an install).

The app upgrades its database at start (bot/store/migrate.py), under a lock, so several replicas
may start at once. How a stream adds a revision after changing bot/store/schema.py:

1. `git merge main`, then `.venv/bin/alembic heads`: there must be exactly one head.
2. Generate it against a scratch database at the current head (the next number after the head):
       .venv/bin/alembic -x url=sqlite:////tmp/scratch.db upgrade head
       .venv/bin/alembic -x url=sqlite:////tmp/scratch.db revision --autogenerate --rev-id 0004 -m "what"
   (after editing schema.py). That writes versions/0004_what.py chained on the head
   (`down_revision`); or write one by hand with `alembic revision --rev-id 0004 -m "what"`. If
   another stream lands a revision first: merge, renumber yours, chain it on theirs.
3. Read the generated `upgrade()`/`downgrade()`. SQLite cannot alter columns in place: column
   changes go in `with op.batch_alter_table("table") as batch:` (autogenerate does this).
   Never import bot.store in a revision (it keeps changing); times are `sa.DateTime()`.
4. tests/contract/store/test_migrations.py checks that upgrading an empty database to head gives
   exactly schema.py's tables, and upgrades a database with data from the first landed schema.
"""
