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

from core.errors import StoreError
from mindmove.settings import hide_password, load_settings

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
            raise StoreError(f"The session store refused the change: {exc.__class__.__name__}: "
                             f"{first_line(exc)}") from exc
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        """``with open_store() as store:`` closes every connection on the way out, error or not."""
        self.dispose()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def first_line(exc: BaseException, /) -> str:
    """The first line of a database error's own message (the driver's, when there is one).

    psycopg and SQLAlchemy add hints and links on further lines; a MindMove error is one line.
    """
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0].strip() if text else exc.__class__.__name__


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """Open (and by default create or upgrade) the store at ``url`` or the configured one.

    Use it as ``with open_store() as store:``; the connections close when the block ends.

    Every failure (a folder that cannot be made, a URL or driver that cannot be used, a server
    that cannot be reached, a file that is not a database) is a one-line :class:`StoreError`
    with the password hidden.
    """
    url = url or load_settings().db_url
    shown = hide_password(url)
    if url.startswith("sqlite:///") and create:
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) not in ("", ":memory:"):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"Expected a folder for the database at {path.parent}, but could not create it "
                                 f"({exc.strerror or exc.__class__.__name__}). Set MINDMOVE_DATA_DIR or "
                                 "MINDMOVE_DB_URL to a writable place.") from exc
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except (ImportError, SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"Cannot use the database URL {shown}: {first_line(exc)}. Check MINDMOVE_DB_URL.") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        try:
            upgrade_schema(engine)
        except OperationalError as exc:
            engine.dispose()
            raise StoreError(f"Cannot reach the database at {shown}: {first_line(exc)}. "
                             "Check MINDMOVE_DB_URL and that the server is running.") from exc
        except SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"Expected a MindMove database at {shown}, but it could not be read: "
                             f"{first_line(exc)}. Restore it from a backup, or point MINDMOVE_DB_URL elsewhere.") from exc
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
