"""SQL that reads the same on SQLite and PostgreSQL: UTC date buckets and integer floors.

Each is a SQLAlchemy function element compiled per dialect, so queries built with them
group, sort and bucket identically on both stores (every value still a bound parameter).
"""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class utc_day(FunctionElement):
    """The UTC calendar day of a timestamp column, as a value that groups and sorts."""

    inherit_cache = True


@compiles(utc_day)
def _utc_day_default(element, compiler, **kw):
    return "date(%s)" % compiler.process(element.clauses, **kw)


@compiles(utc_day, "postgresql")
def _utc_day_pg(element, compiler, **kw):
    return "CAST((%s AT TIME ZONE 'UTC') AS DATE)" % compiler.process(element.clauses, **kw)


class utc_week(FunctionElement):
    """The Monday (UTC) of a timestamp's week."""

    inherit_cache = True


@compiles(utc_week)
def _utc_week_default(element, compiler, **kw):
    return "date(%s, 'weekday 0', '-6 days')" % compiler.process(element.clauses, **kw)


@compiles(utc_week, "postgresql")
def _utc_week_pg(element, compiler, **kw):
    return "CAST(date_trunc('week', %s AT TIME ZONE 'UTC') AS DATE)" % compiler.process(element.clauses, **kw)


class floor_int(FunctionElement):
    """floor() of a non-negative number as an integer (SQLite's CAST truncates, PostgreSQL's rounds)."""

    type = Integer()
    inherit_cache = True


@compiles(floor_int)
def _floor_default(element, compiler, **kw):
    return "CAST(%s AS INTEGER)" % compiler.process(element.clauses, **kw)


@compiles(floor_int, "postgresql")
def _floor_pg(element, compiler, **kw):
    return "CAST(floor(%s) AS INTEGER)" % compiler.process(element.clauses, **kw)
