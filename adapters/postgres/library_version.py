"""The eventsourcing version the storage shortcuts were written against, checked at import.

Why: `small_saves` re-types the library's lock, NOTIFY and insert statements as one query, and
`recorders` re-implements its save (binary COPY) and its table creation. Both are exactly the
library's behaviour only at the version they were read from; another version could change a
statement, the lock, the channel or a hook, and the shortcuts would keep running the old SQL
without a word. So importing either module refuses to go on against any other version.

To move to a new eventsourcing: read `PostgresApplicationRecorder` (and its datastore) of the
new version against both modules, adjust them, run their tests (`tests/adapters/`), then update
`EXPECTED_EVENTSOURCING` here and the pin in pyproject.toml together.
"""

from __future__ import annotations

import importlib.metadata

EXPECTED_EVENTSOURCING = "9.5.6"


def installed_eventsourcing() -> str | None:
    """The installed distribution's version, or None if it is not installed as one."""
    try:
        return importlib.metadata.version("eventsourcing")
    except importlib.metadata.PackageNotFoundError:
        return None


def check_eventsourcing_version(installed: str | None = None, expected: str = EXPECTED_EVENTSOURCING) -> None:
    """Raise `RuntimeError` unless eventsourcing `expected` is installed (`installed`: the
    version to check instead of the installed one)."""
    found = installed if installed is not None else installed_eventsourcing()
    if found == expected:
        return
    shown = "no installed version" if found is None else f"version {found}"
    msg = (
        f"regledger's PostgreSQL storage shortcuts (adapters/postgres/small_saves.py, adapters/postgres/recorders.py) "
        f"re-type the SQL of eventsourcing {expected}, but eventsourcing has {shown}. "
        f"Install eventsourcing=={expected}, or re-check both modules against the installed library's "
        f"PostgresApplicationRecorder (lock, NOTIFY, insert and create statements, insert_events) "
        f"and then update EXPECTED_EVENTSOURCING in adapters/postgres/library_version.py and the pin in pyproject.toml."
    )
    raise RuntimeError(msg)


__all__ = ["EXPECTED_EVENTSOURCING", "check_eventsourcing_version", "installed_eventsourcing"]
