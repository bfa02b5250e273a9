"""The declarations the view tables are made of: columns, indexes, tables and their DDL.

Kept apart from `schema.py` (which declares the tables) so that modules declaring more tables
(`audit_schema.py`) can use them without importing `schema.py`, which imports them.
"""

from __future__ import annotations

from dataclasses import dataclass

UUID_, TS, BOOL, TEXT, INT, BIG = "{uuid}", "{ts}", "{bool}", "TEXT", "INTEGER", "BIGINT"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # SQL; `{uuid}`, `{ts}` and `{bool}` are filled in per dialect
    null: bool = False
    ids: bool = False  # a tuple of UUIDs, stored as text (`join_ids`)


@dataclass(frozen=True)
class Index:
    """A unique index is a rule the writes rely on (and their lookups); the others serve queries
    only, so a rebuild creates them after loading (`deferred`)."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    current: bool = False  # only rows still current (valid_to IS NULL)

    @property
    def deferred(self) -> bool:
        return not self.unique

    def where(self, alias: str = "") -> str:
        return f" AND {alias}valid_to IS NULL" if self.current else ""

    def ddl(self, table: str) -> str:
        unique = "UNIQUE " if self.unique else ""
        where = " WHERE valid_to IS NULL" if self.current else ""
        return f"CREATE {unique}INDEX IF NOT EXISTS {{n}}{self.name} ON {{p}}{table} ({', '.join(self.columns)}){where}"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    indexes: tuple[Index, ...] = ()
    order: tuple[str, ...] = ()  # of dumps; the key by default
    # The columns queries filter, join and sort on, where gathering statistics on every column
    # is costly (ANALYZE samples them all): a rebuild gathers only these. Empty: all of them.
    statistics: tuple[str, ...] = ()
    # program_id is the student's, looked up in `students` as a row is inserted.
    program_of_student: bool = False
    superseded: tuple[str, ...] = ()  # indexes of earlier versions, dropped

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{self.name} has no column {name}")

    def index(self, name: str) -> Index:
        for index in self.indexes:
            if index.name == name:
                return index
        raise KeyError(f"{self.name} has no index {name}")

    def ddl(self) -> list[str]:
        """CREATE TABLE, its indexes, and the drops of superseded ones (all idempotent)."""
        inline = len(self.key) == 1
        columns = [
            f"{c.name} {c.type}" + (" PRIMARY KEY" if inline and c.name in self.key else "" if c.null else " NOT NULL")
            for c in self.columns
        ]
        if not inline:
            columns.append(f"PRIMARY KEY ({', '.join(self.key)})")
        return [
            f"CREATE TABLE IF NOT EXISTS {{p}}{self.name} ({', '.join(columns)})",
            *(index.ddl(self.name) for index in self.indexes),
            *(f"DROP INDEX IF EXISTS {{q}}{name}" for name in self.superseded),
        ]

    def select_all(self) -> str:
        """Every row, in a store-independent order (dumps)."""
        return f"SELECT * FROM {{p}}{self.name} ORDER BY {', '.join(self.order or self.key)}"  # noqa: S608 - fixed fragments


def uuid(name: str, *, null: bool = False) -> Column:
    return Column(name, UUID_, null)


def ts(name: str, *, null: bool = False) -> Column:
    return Column(name, TS, null)


def text(name: str, *, null: bool = False) -> Column:
    return Column(name, TEXT, null)


def integer(name: str, *, null: bool = False) -> Column:
    return Column(name, INT, null)


def bigint(name: str, *, null: bool = False) -> Column:
    return Column(name, BIG, null)


def boolean(name: str) -> Column:
    return Column(name, BOOL)
