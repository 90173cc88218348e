"""Alembic environment for the session store.

Run programmatically by :func:`mindmove.store.db.upgrade_schema`, which hands over an open
connection in ``config.attributes["connection"]``. SQLite runs in batch mode (it cannot
ALTER most things in place).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from mindmove.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        _configure_and_run(conn)
        conn.commit()
    engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("MindMove migrations run online only (open_store runs them).")
run_migrations_online()
