"""Bulk import of a Splash-scale catalogue on PostgreSQL, end to end, against raw executemany.

    .venv/bin/python bench/import_catalogue.py [--classes 520] [--sections 700] [--students 3000]

A throwaway database (created and dropped) gets a program; the synthetic generator's catalogue
(12 timeslots, ~520 classes, ~700 sections; 2 lunch classes are added) is written as the
import's CSV files (catalogue and timeslots) and imported end to end, as `regledger import
catalogue` does after start-up: read the files, parse, validate, plan, one atomic save (target
5 s). The baseline is the same stored event rows (read back) inserted by raw psycopg
`executemany` in one transaction into a table shaped like the library's events table, in the
same run. Then: the same file again (nothing to write), a dry run, a file with 70 changed rows,
the same catalogue as JSON into a second program, and 3,000 students from CSV against their own
raw baseline.

Prints JSON lines {"name", "value", "unit", "baseline", "ratio"} (ratio = value / baseline) and
one {"notes": ...} line. PostgreSQL: REGLEDGER_POSTGRES_{HOST,PORT,USER} (default 127.0.0.1,
5432, postgres).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from _baseline import add_postgres_arguments, figure, pg_create_events_table, scratch_database
from psycopg import sql

from regledger.adapters.bootstrap import build_application
from regledger.adapters.demo import catalogue_of
from regledger.adapters.exporting import catalogue_csv, catalogue_json, timeslots_csv
from regledger.adapters.import_text import read_file
from regledger.adapters.importing import read_catalogue, read_students
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.application import Registration
from regledger.domain.ids import program_id
from regledger.domain.imports import ImportResult
from regledger.domain.values import CommandContext

T = TypeVar("T")
TARGET_SECONDS = 5.0
EVENTS_TABLE = "registration_events"


class TimedSaves(Registration):
    """Registration that remembers how long each save took (same tables: same name)."""

    name = "Registration"

    def save(self, *aggregates: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return super().save(*aggregates, **kwargs)
        finally:
            self.__dict__.setdefault("save_times", []).append(time.perf_counter() - started)


def timed(call: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def seconds(name: str, value: float, baseline: float | None = None) -> dict[str, Any]:
    fig = figure(name, value, "s", baseline)
    fig["value"] = round(value, 3)
    fig["baseline"] = None if baseline is None else round(baseline, 3)
    return fig


def raw_executemany(conninfo: str, table: str, after: int) -> float:
    """Seconds to insert the rows stored after `after` (same ids, versions, topics, states) by
    one executemany in one transaction into a fresh copy of the events table."""
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            sql.SQL(
                "SELECT originator_id, originator_version, topic, state FROM {t} "
                "WHERE notification_id > %s ORDER BY notification_id"
            ).format(t=sql.Identifier(EVENTS_TABLE)),
            (after,),
        ).fetchall()
    pg_create_events_table(conninfo, table)
    statement = sql.SQL(
        "INSERT INTO {t} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)"
    ).format(t=sql.Identifier(table))
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(statement, rows)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classes", type=int, default=520)
    parser.add_argument("--sections", type=int, default=700)
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    add_postgres_arguments(parser)
    args = parser.parse_args()

    lines: list[dict[str, Any]] = []
    notes: dict[str, Any] = {"load_average_start": round(os.getloadavg()[0], 1)}
    with scratch_database(args, "import") as settings, tempfile.TemporaryDirectory() as scratch:
        run(settings, args, Path(scratch), lines, notes)
    notes["load_average_end"] = round(os.getloadavg()[0], 1)
    for line in lines:
        print(json.dumps(line))
    print(json.dumps({"notes": notes}))


def run(settings: Settings, args: argparse.Namespace, scratch: Path, lines: list[Any], notes: dict[str, Any]) -> None:
    program = generate_program(
        args.seed, students=args.students, sections=args.sections, classes=args.classes, timeslots=12, days=2
    )
    catalogue = catalogue_of(program)
    files = {
        "catalogue.csv": catalogue_csv(catalogue),
        "timeslots.csv": timeslots_csv(catalogue),
        "catalogue.json": catalogue_json(catalogue),
        "students.csv": "key,name,graduation_year,email\n"
        + "".join(f"{s.key},Student {s.key},{s.graduation_year},{s.key}@example.org\n" for s in program.students),
    }
    for name, text in files.items():
        (scratch / name).write_text(text, encoding="utf-8")
    notes.update(
        timeslots=len(catalogue.timeslots),
        classes=len(catalogue.classes),
        sections=sum(len(c.sections) for c in catalogue.classes),
        bytes={name: len(text.encode()) for name, text in files.items()},
    )
    app = build_application(settings, app_class=TimedSaves)
    ctx = CommandContext(actor="bench")
    for slug in ("splash", "splash-json"):
        app.create_program(slug, "Splash", ctx, school_year=program.school_year)
    pid = program_id("splash")

    def from_csv(path: str = "catalogue.csv", **kwargs: Any) -> ImportResult:
        data = read_file(scratch / path)
        entries = read_catalogue(data, "csv", read_file(scratch / "timeslots.csv"))
        return app.import_catalogue(pid, entries, CommandContext(actor="bench"), **kwargs)

    # -- the first import: everything created, one save (cold process) ----------------------
    before = app.position()
    _, parse = timed(lambda: read_catalogue((scratch / "catalogue.csv").read_bytes(), "csv"))
    app.__dict__["save_times"] = []
    first, total = timed(from_csv)
    save = max(app.__dict__["save_times"])
    written = app.position() - before
    raw = raw_executemany(settings.postgres_conninfo(), "raw_catalogue", before)
    lines.append(seconds("import_catalogue.csv_end_to_end", total, raw))
    lines.append(seconds("import_catalogue.csv_save", save, raw))
    lines.append(seconds("import_catalogue.csv_parse", parse))
    lines.append(figure("import_catalogue.events_rate", written / total, "events/s", written / raw))
    notes.update(events_written=written, created=first.counts, target_s=TARGET_SECONDS, within_target=total <= 5)

    # -- again: nothing to write; a dry run; 70 changed rows ---------------------------------
    again, unchanged = timed(from_csv)
    assert again.outcome == "Unchanged", again.outcome
    lines.append(seconds("import_catalogue.same_file_again", unchanged))
    _, dry = timed(lambda: from_csv(dry_run=True))
    lines.append(seconds("import_catalogue.dry_run", dry))
    changed_text = _with_changed_capacities(files["catalogue.csv"], 70)
    (scratch / "changed.csv").write_text(changed_text, encoding="utf-8")
    before = app.position()
    changed, change = timed(lambda: from_csv("changed.csv"))
    lines.append(seconds("import_catalogue.changed_70_rows", change))
    notes.update(changed=changed.counts["section"], change_events=app.position() - before)

    # -- the same catalogue as JSON, into a second program -----------------------------------
    other = program_id("splash-json")

    def from_json() -> ImportResult:
        data = read_file(scratch / "catalogue.json")
        return app.import_catalogue(other, read_catalogue(data, "json"), CommandContext(actor="bench"))

    _, json_total = timed(from_json)
    lines.append(seconds("import_catalogue.json_end_to_end", json_total, raw))

    # -- 3,000 students ---------------------------------------------------------------------
    before = app.position()

    def students() -> ImportResult:
        data = read_file(scratch / "students.csv")
        return app.import_students(pid, read_students(data, "csv"), CommandContext(actor="bench"))

    imported, students_total = timed(students)
    students_raw = raw_executemany(settings.postgres_conninfo(), "raw_students", before)
    lines.append(seconds("import_students.csv_end_to_end", students_total, students_raw))
    notes.update(students=imported.counts["student"]["created"], student_events=app.position() - before)
    app.close()


def _with_changed_capacities(text: str, rows: int) -> str:
    """The catalogue CSV with a room capacity set on its first `rows` section rows."""
    table = list(csv.DictReader(io.StringIO(text)))
    for row in table[:rows]:
        if row["section"]:
            row["room_capacity"] = "12"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(table[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return out.getvalue()


if __name__ == "__main__":
    main()
