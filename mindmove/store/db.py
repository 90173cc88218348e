"""Opening the store.

SQLite files use WAL journaling with ``synchronous=NORMAL``: a killed process loses at
most the transactions it had not committed, and readers (the dashboard) never block the
practice station's writer.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from mindmove.errors import StoreError
from mindmove.settings import load_settings
from mindmove.store.models import Base

log = logging.getLogger(__name__)


@dataclass
class Store:
    engine: Engine
    factory: sessionmaker

    @contextmanager
    def session(self) -> Iterator[OrmSession]:
        """A unit of work: committed on success, rolled back on error."""
        db = self.factory()
        try:
            yield db
            db.commit()
        except SQLAlchemyError as exc:
            db.rollback()
            raise StoreError(f"The session store refused the change: {exc.__class__.__name__}: {exc.orig if hasattr(exc, 'orig') else exc}") from exc
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open (and by default create or upgrade) the store at ``url`` or the configured one."""
    url = url or load_settings().db_url
    if url.startswith("sqlite:///") and create:
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except (ImportError, SQLAlchemyError) as exc:
        raise StoreError(f"Cannot use the database URL {url!r}: {exc}. Check MINDMOVE_DB_URL.") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        try:
            upgrade_schema(engine)
        except OperationalError as exc:
            raise StoreError(f"Cannot reach the database at {engine.url.render_as_string(hide_password=True)}: {exc.orig}. "
                             "Check MINDMOVE_DB_URL and that the server is running.") from exc
    return Store(engine=engine, factory=sessionmaker(engine, expire_on_commit=False))


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest version, keeping existing data."""
    Base.metadata.create_all(engine)
