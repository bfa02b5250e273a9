"""Raw-driver baselines for the benchmarks: what the same server does without the library.

The PostgreSQL table has the shape of eventsourcing 9.5.6's application events table
(uuid + version primary key, topic, bytea state, bigserial notification id with a unique
index), and every insert returns its notification id, as the library's does.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from regledger.adapters.settings import Settings

# About the size of a stored enrolment event (JSON state with actor, command id, section ref).
STATE = b'{"student_id":{"_type_":"uuid_hex","_data_":"' + b"0" * 32 + b'"},' + b'"x":"' + b"y" * 220 + b'"}'
TOPIC = "regledger.domain.section:Section.StudentEnrolled"


def figure(name: str, value: float, unit: str, baseline: float | None = None) -> dict[str, Any]:
    """One result line: {"name", "value", "unit", "baseline", "ratio"} (ratio = value/baseline)."""
    return {
        "name": name,
        "value": round(value, 1),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 1),
        "ratio": None if not baseline else round(value / baseline, 3),
    }


def run_threads(threads: int, work: Callable[[int], int]) -> float:
    """Run work(i) on `threads` threads started together; returns total items / wall seconds."""
    barrier = threading.Barrier(threads + 1)
    done = [0] * threads
    errors: list[BaseException] = []

    def target(i: int) -> None:
        barrier.wait()
        try:
            done[i] = work(i)
        except BaseException as exc:  # surfaced below, after every thread ended
            errors.append(exc)

    pool = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return sum(done) / elapsed


# -- PostgreSQL ----------------------------------------------------------------------------


def pg_create_events_table(conninfo: str, table: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {t} (originator_id uuid NOT NULL, originator_version bigint NOT NULL, "
                "topic text, state bytea, notification_id bigserial, "
                "PRIMARY KEY (originator_id, originator_version))"
            ).format(t=sql.Identifier(table))
        )
        conn.execute(
            sql.SQL("CREATE UNIQUE INDEX {i} ON {t} (notification_id ASC)").format(
                i=sql.Identifier(f"{table}_nid"), t=sql.Identifier(table)
            )
        )


def _insert(table: str) -> sql.Composed:
    return sql.SQL(
        "INSERT INTO {t} (originator_id, originator_version, topic, state) "
        "VALUES (%s, 1, %s, %s) RETURNING notification_id"
    ).format(t=sql.Identifier(table))


def pg_raw_autocommit(conninfo: str, table: str, rows: int, threads: int = 1) -> float:
    """Single-row autocommit INSERTs per second (one connection per thread)."""
    statement = _insert(table)

    def work(_: int) -> int:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for _ in range(rows // threads):
                conn.execute(statement, (uuid.uuid4(), TOPIC, STATE), prepare=True).fetchone()
        return rows // threads

    return run_threads(threads, work)


def pg_raw_locked(conninfo: str, table: str, rows: int, threads: int = 1) -> float:
    """`BEGIN; LOCK TABLE .. IN EXCLUSIVE MODE; INSERT; COMMIT` per second (no pipelining)."""
    statement = _insert(table)
    lock = sql.SQL("LOCK TABLE {t} IN EXCLUSIVE MODE").format(t=sql.Identifier(table))

    def work(_: int) -> int:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for _ in range(rows // threads):
                with conn.transaction():
                    conn.execute(lock, prepare=True)
                    conn.execute(statement, (uuid.uuid4(), TOPIC, STATE), prepare=True).fetchone()
        return rows // threads

    return run_threads(threads, work)


def pg_raw_library_sql(conninfo: str, table: str, rows: int) -> float:
    """The library's own write transaction, by hand: pipelined `SET LOCAL lock_timeout; LOCK TABLE;
    NOTIFY; INSERT .. RETURNING`, sync, COMMIT (two round trips, as PostgresApplicationRecorder)."""
    statement = _insert(table)
    lock = sql.SQL("LOCK TABLE {t} IN EXCLUSIVE MODE").format(t=sql.Identifier(table))
    notify = sql.SQL("NOTIFY {c}").format(c=sql.Identifier(table))
    with psycopg.connect(conninfo, autocommit=True) as conn:
        start = time.perf_counter()
        for _ in range(rows):
            with conn.pipeline() as pipeline, conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '5s'", prepare=True)
                conn.execute(lock, prepare=True)
                conn.execute(notify)
                cursor = conn.execute(statement, (uuid.uuid4(), TOPIC, STATE), prepare=True)
                pipeline.sync()
                cursor.fetchone()
        return rows / (time.perf_counter() - start)


# -- SQLite --------------------------------------------------------------------------------


def sqlite_raw(path: Path, rows: int) -> float:
    """`BEGIN; INSERT; COMMIT` per second on a WAL file database (the library's table and journal mode)."""
    if path.exists():
        os.remove(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB, "
            "PRIMARY KEY (originator_id, originator_version))"
        )
        start = time.perf_counter()
        for _ in range(rows):
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?, 1, ?, ?)",
                (uuid.uuid4().hex, TOPIC, STATE),
            )
            conn.execute("COMMIT")
        return rows / (time.perf_counter() - start)
    finally:
        conn.close()


def add_postgres_arguments(parser: argparse.ArgumentParser) -> None:
    """--host, --port and --user of the PostgreSQL server a benchmark creates its database on."""
    parser.add_argument("--host", default=os.environ.get("REGLEDGER_POSTGRES_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("REGLEDGER_POSTGRES_PORT", "5432")))
    parser.add_argument("--user", default=os.environ.get("REGLEDGER_POSTGRES_USER", "postgres"))


@contextmanager
def scratch_database(args: argparse.Namespace, name: str) -> Iterator[Settings]:
    """Settings for a throwaway database `regledger_bench_<name>_<random>`, dropped on exit."""
    admin = make_conninfo("", host=args.host, port=args.port, user=args.user, dbname="postgres")
    dbname = f"regledger_bench_{name}_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    try:
        settings = Settings.from_mapping(
            {
                "REGLEDGER_STORE": "postgres",
                "REGLEDGER_POSTGRES_HOST": args.host,
                "REGLEDGER_POSTGRES_PORT": str(args.port),
                "REGLEDGER_POSTGRES_USER": args.user,
                "REGLEDGER_POSTGRES_DB": dbname,
            }
        )
        settings.prepare()
        yield settings
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
