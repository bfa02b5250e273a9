"""Enrol commands per second on PostgreSQL and SQLite, against raw-driver baselines.

    .venv/bin/python bench/commands.py [--quick]

One run creates a throwaway PostgreSQL database (dropped at the end) and measures, on the same
server: raw single-row autocommit INSERTs/s and raw `BEGIN; LOCK TABLE .. IN EXCLUSIVE MODE;
INSERT; COMMIT`/s (1, 2, 4, 8 connections) into a table shaped like the events table; then real
`complete_registration` commands (program -> section -> class -> student loads, every check, one
atomic save of Student + Section) by fresh students into sections with room: sequentially and
from 2, 4 and 8 threads sharing one app (pool sized to the threads). Then the same command on a
SQLite file against raw sqlite3 single-row insert transactions. Finally one sequential run under
cProfile, with the database calls counted per command.

Output: one JSON line per figure on stdout ({"name", "value", "unit", "baseline", "ratio"},
ratio = value / baseline); progress, the profile summary and a markdown table on stderr.
PostgreSQL: REGLEDGER_BENCH_POSTGRES_{HOST,PORT,USER,DB} (default 127.0.0.1, 5432, postgres,
test; DB is only used to create and drop the throwaway database).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from _baseline import (
    figure,
    pg_create_events_table,
    pg_raw_autocommit,
    pg_raw_library_sql,
    pg_raw_locked,
    run_threads,
    sqlite_raw,
)
from eventsourcing.application import Application
from psycopg import sql
from psycopg.conninfo import make_conninfo

from regledger.adapters.aggregate_cache import AggregateCache
from regledger.adapters.bootstrap import build_application
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.ids import ProgramId, SectionId, program_id
from regledger.domain.runner import CommandRunner
from regledger.domain.values import CommandContext

SEATS = 50  # per section: a realistic class size, so Section aggregates stay realistic too
THREADS = (2, 4, 8)
ADMIN = "bench-admin"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def emit(results: list[dict[str, Any]], fig: dict[str, Any]) -> None:
    results.append(fig)
    print(json.dumps(fig), flush=True)


# -- the scenario --------------------------------------------------------------------------


class Scenario:
    """A program whose classes have room; sections and students with profiles made on demand.

    Everything here is set-up, done through a separate app (its own pool and cache), so the
    measured app starts like a server process that has only seen the program and the sections.
    """

    def __init__(self, app: Registration) -> None:
        self.app = app
        self.made = 0
        app.create_program("bench", "Bench", CommandContext(actor=ADMIN), school_year=2027)
        self.program = program_id("bench")
        start = datetime(2027, 3, 6, 9, tzinfo=UTC)
        self.timeslot = UUID(
            app.add_timeslot(self.program, "T1", start, start + timedelta(minutes=50), CommandContext(actor=ADMIN)).ids[
                "timeslot_id"
            ]
        )

    def sections(self, count: int, per_class: int = 1) -> list[SectionId]:
        """`count` sections to enrol into; each class gets `per_class` sections (the extra ones unused)."""
        out: list[SectionId] = []
        for _ in range(count):
            self.made += 1
            code = f"C{self.made:05d}"
            result = self.app.add_subject(self.program, code, code, CommandContext(actor=ADMIN), class_size_max=SEATS)
            subject = UUID(result.ids["subject_id"])
            ids = [
                SectionId(UUID(self.app.create_section(subject, [self.timeslot], ctx).ids["section_id"]))
                for ctx in [CommandContext(actor=ADMIN) for _ in range(per_class)]
            ]
            out.append(ids[0])
        return out

    def students(self, keys: list[str], threads: int = 4) -> None:
        """Fresh students with profiles (the seed's flow asks for a profile before classes)."""

        def work(i: int) -> int:
            for key in keys[i::threads]:
                self.app.submit_profile(self.program, key, key, 2029, {}, CommandContext(actor=key))
            return len(keys[i::threads])

        run_threads(threads, work)


def warm(app: Registration, program: ProgramId, sections: list[SectionId]) -> None:
    """What a running server has in its cache: the program, the sections and their classes."""
    app.load_program(program)
    for section_id in sections:
        app.load_subject(app.load_section(section_id).subject_id)


def plan(
    scenario: Scenario, commands: int, threads: int, label: str, per_class: int = 1
) -> list[list[tuple[str, SectionId]]]:
    """Per client: (fresh student, section with room) pairs, on sections no other client uses."""
    per_thread = max(1, commands // (SEATS * threads))
    sections = scenario.sections(per_thread * threads, per_class)
    work = [
        [
            (f"{label}-{i}-{n}-{seat}", section)
            for n, section in enumerate(sections[i::threads])
            for seat in range(SEATS)
        ]
        for i in range(threads)
    ]
    scenario.students([key for items in work for key, _ in items])
    return work


def enroll_all(app: Registration, program: ProgramId, items: list[tuple[str, SectionId]]) -> int:
    for key, section_id in items:
        app.complete_registration(program, key, section_id, CommandContext(actor=key))
    return len(items)


def enroll_rate(
    open_measured: Callable[[int], Registration],
    scenario: Scenario,
    commands: int,
    threads: int,
    label: str,
    per_class: int = 1,
) -> tuple[float, int]:
    """Enrolments/s of fresh students, `threads` clients sharing one app; also its retries."""
    work = plan(scenario, commands, threads, label, per_class)
    warm_up = (f"{label}-warm", scenario.sections(1)[0])
    scenario.students([warm_up[0]], threads=1)
    app = open_measured(threads)
    try:
        warm(app, scenario.program, [*sorted({s for items in work for _, s in items}), warm_up[1]])
        # One untimed command first: the process learns the verb catalogue once (as a server would).
        enroll_all(app, scenario.program, [warm_up])
        retries = app.runner.retries
        rate = run_threads(threads, lambda i: enroll_all(app, scenario.program, work[i]))
        return rate, app.runner.retries - retries
    finally:
        app.close()


# -- stores --------------------------------------------------------------------------------


def pg_params() -> dict[str, Any]:
    return {
        "host": os.environ.get("REGLEDGER_BENCH_POSTGRES_HOST", "127.0.0.1"),
        "port": int(os.environ.get("REGLEDGER_BENCH_POSTGRES_PORT", "5432")),
        "user": os.environ.get("REGLEDGER_BENCH_POSTGRES_USER", "postgres"),
        "dbname": os.environ.get("REGLEDGER_BENCH_POSTGRES_DB", "test"),
    }


@contextmanager
def throwaway_database() -> Iterator[dict[str, Any]]:
    admin = pg_params()
    name = f"regledger_bench_{secrets.token_hex(4)}"
    with psycopg.connect(make_conninfo("", **admin), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield admin | {"dbname": name}
    finally:
        with psycopg.connect(make_conninfo("", **admin), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def pg_settings(params: dict[str, Any], pool: int) -> Settings:
    return Settings.from_mapping(
        {
            "REGLEDGER_STORE": "postgres",
            "REGLEDGER_POSTGRES_HOST": params["host"],
            "REGLEDGER_POSTGRES_PORT": str(params["port"]),
            "REGLEDGER_POSTGRES_USER": params["user"],
            "REGLEDGER_POSTGRES_DB": params["dbname"],
            "REGLEDGER_POSTGRES_POOL_SIZE": str(pool),
            "REGLEDGER_POSTGRES_MAX_OVERFLOW": "0",
        }
    )


def open_app(settings: Settings) -> Registration:
    settings.prepare()
    return build_application(settings)


def library_write_path(open_measured: Callable[[int], Registration]) -> Callable[[int], Registration]:
    """The same apps with small saves on the library's pipelined path (before/after, same run)."""

    def open_library(threads: int) -> Registration:
        app = open_measured(threads)
        app.recorder.one_trip = None  # type: ignore[attr-defined]
        return app

    return open_library


# -- profile -------------------------------------------------------------------------------


class CallCounter:
    """Counts (and times) calls of some recorder methods on given instances."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self._lock = threading.Lock()

    def wrap(self, obj: Any, method: str, label: str) -> None:
        inner = getattr(obj, method)

        def counted(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                with self._lock:
                    self.calls[label] += 1
                    self.seconds[label] += time.perf_counter() - start

        setattr(obj, method, counted)


def profile_sequential(app: Registration, scenario: Scenario, commands: int) -> dict[str, Any]:
    """A sequential run with every database call counted and timed, then one under cProfile."""
    work = plan(scenario, commands, 1, "profiled")[0]
    warm_up = (work.pop()[0], scenario.sections(1)[0])
    warm(app, scenario.program, [*sorted({s for _, s in work}), warm_up[1]])
    enroll_all(app, scenario.program, [warm_up])
    counter = CallCounter()
    counter.wrap(app.aggregates.reader, "events_after", "events read (all aggregates of the command, 1 round trip)")
    counter.wrap(app.recorder, "max_notification_id", "SELECT max(notification_id) (position)")
    counter.wrap(app.recorder, "insert_events", "insert_events transaction (1 round trip: postgres/small_saves.py)")
    gets = Counter[str]()
    original_find = app.find

    def find(cls: Any, aggregate_id: UUID) -> Any:
        aggregate = original_find(cls, aggregate_id)
        gets[type(aggregate).__name__ if aggregate is not None else "not found (new Student)"] += 1
        return aggregate

    app.find = find  # type: ignore[method-assign]

    # First half: timed without cProfile, only the database calls are timed (cheap wrappers).
    half = len(work) // 2
    started = time.perf_counter()
    done = enroll_all(app, scenario.program, work[:half])
    wall = time.perf_counter() - started
    db_seconds = sum(counter.seconds.values())
    plain = {
        "commands": done,
        "ms_per_command": 1000 * wall / done,
        "gets_per_command": {k: v / done for k, v in gets.items()},
        "db_calls_per_command": {k: v / done for k, v in counter.calls.items()},
        "db_ms_per_command": {k: 1000 * v / done for k, v in counter.seconds.items()},
        "db_ms_total": 1000 * db_seconds / done,
        "python_ms_outside_db_calls": 1000 * (wall - db_seconds) / done,
    }

    # Second half: under cProfile, for where the Python time goes (cProfile inflates it).
    profiler = cProfile.Profile()
    profiler.enable()
    done = enroll_all(app, scenario.program, work[half:])
    profiler.disable()
    stats = pstats.Stats(profiler)
    timings = {
        "execute (whole command)": cumulative(stats, CommandRunner.run),
        "AggregateCache.fetch": cumulative(stats, AggregateCache.fetch),
        "  deepcopy from cache": cumulative_named(stats, "copy.py", "deepcopy"),
        "Application.save": cumulative(stats, Application.save),
        "Registration.position": cumulative(stats, Registration.position),
        "psycopg waiting on the server": cumulative_named(stats, "psycopg/connection.py", "wait"),
    }
    return {
        "unprofiled": plain,
        "cprofile_commands": done,
        "cprofile_ms_per_command": {k: 1000 * v / done for k, v in timings.items()},
        "cprofile_top_self_time": top_functions(stats, done),
    }


def cumulative(stats: pstats.Stats, func: Callable[..., Any]) -> float:
    code = getattr(func, "__wrapped__", func).__code__
    key = (code.co_filename, code.co_firstlineno, code.co_name)
    entry = stats.stats.get(key)  # type: ignore[attr-defined]
    return float(entry[3]) if entry else 0.0


def cumulative_named(stats: pstats.Stats, file_suffix: str, name: str) -> float:
    total = 0.0
    for (filename, _, funcname), entry in stats.stats.items():  # type: ignore[attr-defined]
        if filename.endswith(file_suffix) and funcname == name:
            total += entry[3]
    return total


def top_functions(stats: pstats.Stats, done: int, count: int = 12) -> list[str]:
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:count]  # type: ignore[attr-defined]
    return [
        f"{1000 * entry[2] / done:7.3f} ms/cmd self  {entry[1] / done:6.1f} calls/cmd  "
        f"{Path(filename).name}:{line}({name})"
        for (filename, line, name), entry in rows
    ]


# -- main ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer commands per figure (a smoke run)")
    args = parser.parse_args()
    raw_rows = 600 if args.quick else 3000
    commands = 400 if args.quick else 1200
    results: list[dict[str, Any]] = []
    log(f"load average at start: {os.getloadavg()}  (2 shared cores: other work on the machine skews figures)")

    with throwaway_database() as params:
        conninfo = make_conninfo("", **params)
        log(f"PostgreSQL database {params['dbname']} on {params['host']}:{params['port']}")
        pg_create_events_table(conninfo, "raw_events")
        pg_raw_autocommit(conninfo, "raw_events", 200)  # warm the server and the table
        raw_autocommit = pg_raw_autocommit(conninfo, "raw_events", raw_rows)
        emit(results, figure("pg_raw_insert_autocommit", raw_autocommit, "rows/s"))
        raw_locked = {1: pg_raw_locked(conninfo, "raw_events", raw_rows)}
        emit(results, figure("pg_raw_locked_txn", raw_locked[1], "txn/s"))
        library_sql = pg_raw_library_sql(conninfo, "raw_events", raw_rows)
        emit(results, figure("pg_raw_library_write_sql", library_sql, "txn/s", raw_locked[1]))
        for threads in THREADS:
            raw_locked[threads] = pg_raw_locked(conninfo, "raw_events", raw_rows, threads)
            emit(results, figure(f"pg_raw_locked_txn_{threads}_threads", raw_locked[threads], "txn/s"))

        setup = open_app(pg_settings(params, 4))
        try:
            scenario = Scenario(setup)

            def measured(threads: int) -> Registration:
                return open_app(pg_settings(params, threads))

            rate, retries = enroll_rate(measured, scenario, commands, 1, "seq")
            emit(results, figure("pg_enroll_sequential", rate, "commands/s", raw_locked[1]))
            log(f"  sequential: {retries} retries")
            rate, _ = enroll_rate(library_write_path(measured), scenario, commands, 1, "seqlib")
            emit(results, figure("pg_enroll_sequential_library_write_path", rate, "commands/s", raw_locked[1]))
            rate, _ = enroll_rate(measured, scenario, commands // 2, 1, "seq2", per_class=2)
            emit(results, figure("pg_enroll_sequential_class_with_2_sections", rate, "commands/s", raw_locked[1]))
            for threads in THREADS:
                rate, retries = enroll_rate(measured, scenario, commands, threads, f"t{threads}")
                emit(results, figure(f"pg_enroll_{threads}_threads", rate, "commands/s", raw_locked[threads]))
                log(f"  {threads} threads: {retries} retries")
            app = measured(1)
            try:
                profile = profile_sequential(app, scenario, commands // 2)
            finally:
                app.close()
        finally:
            setup.close()

    with tempfile.TemporaryDirectory(prefix="regledger-bench-") as tmp:
        raw = sqlite_raw(Path(tmp) / "raw.sqlite3", raw_rows)
        emit(results, figure("sqlite_raw_insert_txn", raw, "txn/s"))
        settings = Settings.from_mapping(
            {"REGLEDGER_STORE": "sqlite", "REGLEDGER_SQLITE_PATH": str(Path(tmp) / "regledger.sqlite3")}
        )
        setup = open_app(settings)
        try:
            rate, _ = enroll_rate(lambda _: open_app(settings), Scenario(setup), commands, 1, "sqlite")
            emit(results, figure("sqlite_enroll_sequential", rate, "commands/s", raw))
        finally:
            setup.close()

    log(f"load average at end: {os.getloadavg()}")
    log(json.dumps(profile, indent=2))
    log("")
    log("| figure | value | unit | baseline | ratio |")
    log("|---|---:|---|---:|---:|")
    for fig in results:
        baseline = "" if fig["baseline"] is None else f"{fig['baseline']:,.0f}"
        ratio = "" if fig["ratio"] is None else f"{fig['ratio']:.2f}"
        log(f"| {fig['name']} | {fig['value']:,.0f} | {fig['unit']} | {baseline} | {ratio} |")


if __name__ == "__main__":
    main()
