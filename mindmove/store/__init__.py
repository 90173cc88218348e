"""The session store: SQLAlchemy over SQLite (default) or PostgreSQL."""

from mindmove.store.db import Store, open_store

__all__ = ["Store", "open_store"]
