"""Precompiled statements for the few reads every request makes (its session, its user, their roles) and the
hottest writes of the case engine. The ORM compiles a query anew each time, and for a one-row read by key that
costs about ten times the statement itself (bench/intake.py: ~0.2 ms against ~0.02 ms a read, four reads a
report). Everything else goes through the ORM."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Field, Model
from django.db.models.expressions import Col

M = TypeVar("M", bound=Model)
Converting = tuple[int, Col, list[Any]]


@cache
def _select_plan(model: type[Model], where: str, vendor: str) -> tuple[list[str], list[Converting], str]:
    """The attribute names, the columns' converters and the SELECT of `model`'s rows that `where` finds."""
    concrete = model._meta.concrete_fields
    table = model._meta.db_table
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in concrete)
    sql = f"SELECT {columns} FROM {quote(table)} WHERE {where}"  # noqa: S608 - model names
    # The converters the ORM's compiler applies before `from_db` (SQLite's datetimes and booleans…). They are
    # bound to the connection that made the plan, but depend only on the vendor and the settings.
    converting = []
    for i, f in enumerate(concrete):
        col = f.get_col(table)
        converters = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if converters:
            converting.append((i, col, converters))
    return [f.attname for f in concrete], converting, sql


def get_row(model: type[M], where: str, params: Sequence[Any]) -> M | None:
    """The row of `model` that `where` (SQL on its columns, with %s marks; params already adapted to the
    database, see `db_datetime`) finds, as a model instance; None if there is none."""
    fields, converting, sql = _select_plan(model, where, connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    values = list(row)
    for i, col, converters in converting:
        for convert in converters:
            values[i] = convert(values[i], col, connection)
    return model.from_db(DEFAULT_DB_ALIAS, fields, values)


def db_datetime(value: Any) -> Any:
    """A datetime as the database takes it in a hand-written statement (SQLite stores text)."""
    return connection.ops.adapt_datetimefield_value(value)


@cache
def _insert_plan(model: type[Model], vendor: str) -> tuple[list[Field], str]:
    """The columns of a new row of `model` (all but its id) and its INSERT, per database vendor."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    return fields, f"INSERT INTO {table} ({columns}) VALUES ({marks}) RETURNING {pk}"  # noqa: S608 - model names


def insert(obj: Model) -> None:
    """Write a new row of `obj` in one precompiled INSERT and give `obj` its id.

    For the rows every report and every step writes (the case, its clocks and events). Only for models without
    signal receivers, auto_now fields or database defaults left to the database."""
    fields, sql = _insert_plan(type(obj), connection.vendor)
    values = [f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        (obj.pk,) = cursor.fetchone()
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS
