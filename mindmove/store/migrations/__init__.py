"""Alembic migrations for the session store, run by :func:`mindmove.store.db.upgrade_schema`."""
