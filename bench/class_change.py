"""Class-change lottery at Splash scale on PostgreSQL: compute and commit times.

A throwaway database gets the synthetic program (default 3,000 students, 700 sections, 12
timeslots) written as real aggregate events (`store_synthetic_program`); the main lottery is
started and committed, so students hold their lottery schedules. Then ~20% of the students
request 1-3 sections each through `request_changes` (real commands: eligible sections of a
class they do not hold, in their grades; priorities 1, 2, 3 or none). On the same app:

* compute: the algorithm alone (target 1 s), the input read from the in-process fold, and
  `start_class_change` end to end (the fold continues from its last position);
* commit: `commit_class_change` end to end (target 2 s) and its one save; events/s of the save
  against raw psycopg `executemany` of the SAME rows into an events-shaped table, same run;
* replay identical, the no-worse check (`problems`), students changed, seats moved.

Prints JSON lines {"name", "value", "unit", "baseline", "ratio"}; `--write-doc` appends a
"## Class change" section to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from _baseline import add_postgres_arguments, scratch_database
from lottery import TimedSaves, fig, timed, written_and_raw_rate

from regledger.adapters.bootstrap import build_application
from regledger.adapters.simulation.class_change_requests import place_requests
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.ids import SectionId
from regledger.domain.lottery.class_change import compute_class_change, problems
from regledger.domain.values import CommandContext

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--sections", type=int, default=700)
    parser.add_argument("--classes", type=int, default=550)
    parser.add_argument("--share", type=float, default=0.2, help="share of students requesting")
    parser.add_argument("--seed", type=int, default=0)
    add_postgres_arguments(parser)
    parser.add_argument("--write-doc", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args()

    lines: list[dict[str, Any]] = []
    notes: dict[str, Any] = {"load_average_start": round(os.getloadavg()[0], 1)}
    with scratch_database(args, "class_change") as settings:
        app = build_application(settings, app_class=TimedSaves)
        program = generate_program(args.seed, students=args.students, sections=args.sections, classes=args.classes)
        stored, load = timed(lambda: store_synthetic_program(app, program, CommandContext(actor="bench")))
        notes.update(events=stored.events, load_s=round(load, 1))
        with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
            conn.execute("ANALYZE registration_events")  # the cluster runs without autovacuum (see lottery.py)
        pid = stored.program_id
        lottery = app.start_lottery(pid, CommandContext(actor="bench"), seed=args.seed)
        app.commit_lottery(uuid.UUID(lottery.ids["run_id"]), CommandContext(actor="bench"))

        def section_of(code: str, index: int) -> SectionId:
            return stored.section_ids[(code, index)]

        placed, placing = timed(lambda: place_requests(app, program, pid, section_of, share=args.share, seed=args.seed))
        notes.update(requesting_students=placed.students, requests=placed.requests, refused_requests=placed.refused)
        lines.append(fig("class_change.request_changes_rate", placed.students / placing, "commands/s", digits=0))

        # -- compute ------------------------------------------------------------------------
        started, start_s = timed(lambda: app.start_class_change(pid, CommandContext(actor="bench"), seed=args.seed))
        run = app.load_class_change_run(uuid.UUID(started.ids["run_id"]))
        snapshot, fold = timed(lambda: app.class_change_input(pid, run.input_position))
        result, algorithm = timed(lambda: compute_class_change(snapshot.input, run.seed))
        assert result.digest() == run.assignment_digest
        assert problems(snapshot.input, result) == []
        lines.append(fig("class_change.compute_algorithm", algorithm, "s", 1.0))
        lines.append(fig("class_change.part_input_from_fold", fold, "s", 1.0))
        lines.append(fig("class_change.start_class_change", start_s, "s", 1.0))

        # -- commit -------------------------------------------------------------------------
        before = app.position()
        app.__dict__["save_times"] = []
        committed, commit_s = timed(lambda: app.commit_class_change(run.id, CommandContext(actor="bench")))
        written = app.position() - before
        save = max(app.__dict__["save_times"])
        lines.append(fig("class_change.commit_total", commit_s, "s", 2.0))
        lines.append(fig("class_change.commit_save", save, "s", 2.0))
        _, raw = written_and_raw_rate(settings.postgres_conninfo(), before)
        lines.append(fig("class_change.commit_save_events_rate", written / save, "events/s", raw, digits=0))

        stats = run.stats
        granted = {lv["level"]: f"{lv['granted']}/{lv['requested']}" for lv in stats["levels"]}
        notes.update(
            students_changed=stats["students_changed"],
            students_unchanged=stats["students_unchanged"],
            seats_moved=stats["seats_moved"],
            pushed_back=stats["pushed_back"],
            granted_by_level=granted,
            events_written=written,
            committed_outcome=committed.outcome,
            replay_identical=app.replay_class_change(run.id).identical,
            load_average_end=round(os.getloadavg()[0], 1),
        )
        app.close()
    for line in lines:
        print(json.dumps(line))
    print(json.dumps({"notes": notes}))
    if args.write_doc:
        write_doc(args, lines, notes)


def write_doc(args: argparse.Namespace, lines: list[dict[str, Any]], notes: dict[str, Any]) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    rows = "\n".join(f"| {x['name']} | {x['value']} | {x['unit']} | {x['baseline']} | {x['ratio']} |" for x in lines)
    text = f"""
## Class change

`.venv/bin/python bench/class_change.py --students {args.students} --sections {args.sections} --classes {args.classes}`
at {commit.stdout.strip()} on {datetime.now(tz=UTC):%Y-%m-%d}: PostgreSQL on 127.0.0.1, client and server on the
same machine (load average {notes["load_average_start"]} at the start, {notes["load_average_end"]} at the end).
The synthetic program ({notes["events"]} events, {notes["load_s"]} s to write) had its main lottery committed;
then {notes["requesting_students"]} students ({args.share:.0%}) made {notes["requests"]} requests through
`request_changes` ({notes["refused_requests"]} refused). The run changed {notes["students_changed"]} students'
schedules ({notes["students_unchanged"]} unchanged, {notes["pushed_back"]} winners pushed back), moving
{notes["seats_moved"]} seats; granted/requested by priority level (0 = no priority):
{notes["granted_by_level"]}. `commit_class_change` wrote {notes["events_written"]} events in ONE save. Baselines:
the 1 s (compute) and 2 s (commit) targets; for the rate, raw psycopg `executemany` of the same rows in one
transaction into an events-shaped table, same run. Replay identical: {notes["replay_identical"]}.

| name | value | unit | baseline | ratio |
|---|---|---|---|---|
{rows}
"""
    with DOC.open("a", encoding="utf-8") as doc:
        doc.write(text)


if __name__ == "__main__":
    main()
