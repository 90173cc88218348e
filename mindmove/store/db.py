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

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from mindmove.errors import StoreError
from mindmove.settings import load_settings

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


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
FIRST_REVISION = "0001"


def alembic_config(connection=None) -> "alembic.config.Config":
    """An Alembic configuration for the shipped migrations (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_schema(engine: Engine, /, *, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the newest by default) with Alembic, keeping data.

    A database made before migrations existed (tables created directly from the first
    models, no ``alembic_version``) is stamped at the first revision, then upgraded.
    """
    from alembic import command

    with engine.begin() as connection:
        tables = set(inspect(connection).get_table_names())
        config = alembic_config(connection)
        if "alembic_version" not in tables and "sessions" in tables:
            log.warning("stamping an unversioned store at revision %s before upgrading", FIRST_REVISION)
            command.stamp(config, FIRST_REVISION)
        command.upgrade(config, revision)


def current_revision(engine: Engine, /) -> str | None:
    """The schema revision the database is at (``None`` when it has none)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
