"""The case list's text search on SQLite: an FTS5 index of trigrams over `cases_case(description, address)`.

`description LIKE '%…%'` reads every row when the text is rare: a million cases take some 370 ms. The FTS5
table `case_text` (tokenizer `trigram`, SQLite ≥ 3.34) indexes every run of three characters of both columns;
a phrase query of the search text finds the rows holding it as a substring without reading the table. It
is an external-content table (the text lives only in `cases_case`), kept in step by three triggers.

The index narrows, `contains` still decides: the list filters `pk IN (the index's matches)` AND the LIKE of
today, so what is found is exactly what LIKE finds (the index folds the case of more letters than LIKE does:
its matches are a superset). It serves texts of 3 characters or more (a shorter one has no trigram) and only
rare ones: a text found in more than `RARE` cases is left to LIKE, whose newest-first walk stops after a page
(reading every match of a text in most of a million rows would take longer than that).

PostgreSQL has trigram GIN indexes instead (migration 0003); nothing here runs there.

A table remade by a later migration (SQLite's ALTER TABLE by copy) loses its triggers: `ensure` (after every
`migrate`) puts back missing triggers and rebuilds the index."""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db.models.expressions import RawSQL

TABLE = "case_text"
MIN_LENGTH = 3  # a trigram index finds nothing shorter
RARE = 5000  # more matches than this: LIKE's newest-first walk finds a page sooner

CREATE_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS case_text USING fts5(description, address, "
    "content='cases_case', content_rowid='id', tokenize='trigram')"
)
# An external-content index forgets a row by being told its old text: the triggers pass it.
_OLD = (
    "INSERT INTO case_text (case_text, rowid, description, address) "
    "VALUES ('delete', old.id, old.description, old.address);"
)
_NEW = "INSERT INTO case_text (rowid, description, address) VALUES (new.id, new.description, new.address);"
TRIGGERS = {
    "case_text_insert": f"CREATE TRIGGER IF NOT EXISTS case_text_insert AFTER INSERT ON cases_case BEGIN {_NEW} END",
    "case_text_delete": f"CREATE TRIGGER IF NOT EXISTS case_text_delete AFTER DELETE ON cases_case BEGIN {_OLD} END",
    # Only when the text changes: a model's save() names every column.
    "case_text_update": (
        "CREATE TRIGGER IF NOT EXISTS case_text_update AFTER UPDATE OF description, address ON cases_case "
        "WHEN old.description IS NOT new.description OR old.address IS NOT new.address "
        f"BEGIN {_OLD} {_NEW} END"
    ),
}
REBUILD = "INSERT INTO case_text (case_text) VALUES ('rebuild')"
OPTIMIZE = "INSERT INTO case_text (case_text) VALUES ('optimize')"
# A self-check of the index against cases_case: raises an error when they differ.
INTEGRITY_CHECK = "INSERT INTO case_text (case_text, rank) VALUES ('integrity-check', 1)"
MATCHES = "SELECT rowid FROM case_text WHERE case_text MATCH %s"


def supported(connection: Any) -> bool:
    """SQLite with FTS5's trigram tokenizer (3.34 and later)."""
    return connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 34, 0)


def _names(cursor: Any, kind: str) -> set[str]:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = %s", [kind])
    return {row[0] for row in cursor.fetchall()}


def create(connection: Any) -> bool:
    """Create the index, fill it from the cases there are and add the triggers; False when not supported."""
    if not supported(connection):
        return False
    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE)
        rebuild(cursor)
        add_triggers(cursor)
    forget(connection)
    return True


def drop(connection: Any) -> None:
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        drop_triggers(cursor)
        cursor.execute("DROP TABLE IF EXISTS case_text")
    forget(connection)


def drop_triggers(cursor: Any) -> None:
    for name in TRIGGERS:
        cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def add_triggers(cursor: Any) -> None:
    for sql in TRIGGERS.values():
        cursor.execute(sql)


def rebuild(cursor: Any) -> None:
    """Fill the index again from `cases_case` (after a bulk load without the triggers) and merge it into one
    segment, which queries read fastest."""
    cursor.execute(REBUILD)
    cursor.execute(OPTIMIZE)


def ensure(connection: Any) -> None:
    """After `migrate`: when the index exists but a trigger is gone (the table was remade), add the triggers
    and rebuild the index."""
    if not supported(connection):
        return
    with connection.cursor() as cursor:
        if TABLE not in _names(cursor, "table"):
            return
        if set(TRIGGERS) <= _names(cursor, "trigger"):
            return
        add_triggers(cursor)
        rebuild(cursor)
    forget(connection)


_KNOWN = "_gridgov_case_text"  # on the connection: (the DB-API connection asked, whether it has the index)


def forget(connection: Any) -> None:
    """Drop the remembered answer of `available` (the schema changed)."""
    if hasattr(connection, _KNOWN):
        delattr(connection, _KNOWN)


def available(connection: Any) -> bool:
    """Whether this database has the index; asked once per database connection."""
    if not supported(connection):
        return False
    connection.ensure_connection()
    raw = connection.connection
    known = getattr(connection, _KNOWN, None)
    if known is not None and known[0] is raw:
        return bool(known[1])
    with connection.cursor() as cursor:
        found = TABLE in _names(cursor, "table")
    setattr(connection, _KNOWN, (raw, found))
    return found


def phrase(text: str) -> str:
    """`text` as an FTS5 string, a phrase: whatever it holds (quotes, `*`, `OR`, `NEAR(`) is text to find."""
    return '"' + text.replace('"', '""') + '"'


def rare_matches(connection: Any, text: str) -> RawSQL | None:
    """The ids of the cases whose description or address may hold `text` (a superset of LIKE's, to be
    filtered by `contains` as well), as a subquery for `pk__in`; None when the index cannot serve the text:
    no index, shorter than 3 characters (or holding a NUL, which ends an FTS5 string), or in more than RARE
    cases."""
    if len(text) < MIN_LENGTH or "\x00" in text or not available(connection):
        return None
    query = phrase(text)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({MATCHES} LIMIT %s)", [query, RARE + 1])  # noqa: S608
        (found,) = cursor.fetchone()
    if found > RARE:
        return None
    return RawSQL(MATCHES, [query])  # noqa: S611  (the text is a bound parameter)
