"""Admission lottery (Phase Zero) on PostgreSQL: 6,000 entrants in 2,000 tickets, compute and commit.

A throwaway database gets a program with Phase Zero on and 6,000 students (grades 7-12 at
random) with profiles, in 2,000 groups of 2 and 4 (3 on average): each group's holder entered,
the others joined. The students and tickets are written as the commands would write them
(the same aggregates and events) but saved in chunks, to keep the set-up short. Then:

* compute: `start_admission` end to end (the fold of the ticket events from the log, the
  draw, one save; target 1 s), and the parts: the fold alone and the algorithm alone;
* commit: `commit_admission` end to end (target 1 s), warm (the run's result kept by the
  process that started it) and cold (a new process: the run is recomputed and its digests
  checked first);
* replay identical.

Prints JSON lines {"name", "value", "unit", "baseline", "ratio"}; `--write-doc` appends an
"## Admission lottery" section to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from _baseline import add_postgres_arguments, scratch_database
from lottery import fig, timed

from regledger.adapters.bootstrap import build_application
from regledger.domain.admission import AdmissionTicket
from regledger.domain.admission_input import admission_input
from regledger.domain.application import Registration
from regledger.domain.ids import ProgramId, program_id
from regledger.domain.lottery.admission import compute_admission, parse_caps
from regledger.domain.student import Student
from regledger.domain.values import CommandContext

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
SCHOOL_YEAR = 2027
CAPS = {"7-8": 1000, "9-10": 1000, "11-12": 1000}


def ctx() -> CommandContext:
    return CommandContext(actor="bench")


def store_entrants(app: Registration, pid: ProgramId, students: int, tickets: int, seed: int) -> int:
    """Students with profiles, grouped into `tickets` groups as enter + join would record them."""
    rng = random.Random(seed)
    keys = [f"s{i:05d}" for i in range(students)]
    sizes = [students // tickets] * tickets
    for i in range(students % tickets):
        sizes[i] += 1
    for i in range(0, tickets - 1, 2):  # groups of 2 and 4 around the average of 3
        if sizes[i] > 1 and sizes[i + 1] < 4:
            sizes[i] -= 1
            sizes[i + 1] += 1
    pending: list[Any] = []
    written = 0
    at = 0
    for size in sizes:
        members = keys[at : at + size]
        at += size
        years = {k: SCHOOL_YEAR + 12 - rng.randint(7, 12) for k in members}
        for key in members:
            student = Student(program_id=pid, student_key=key, **ctx().audit())
            student.submit_profile(key.title(), years[key], {}, ctx().audit())
            pending.append(student)
        holder = AdmissionTicket(
            program_id=pid, holder_key=members[0], graduation_year=years[members[0]], joined=None, **ctx().audit()
        )
        pending.append(holder)
        for key in members[1:]:
            holder.add_member(key, years[key], ctx().audit())
            pending.append(
                AdmissionTicket(
                    program_id=pid, holder_key=key, graduation_year=years[key], joined=holder.id, **ctx().audit()
                )
            )
        if len(pending) >= 2000:
            written += sum(len(a.pending_events) for a in pending)
            app.save(*pending)
            pending = []
    if pending:
        written += sum(len(a.pending_events) for a in pending)
        app.save(*pending)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=6000)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    add_postgres_arguments(parser)
    parser.add_argument("--write-doc", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args()

    lines: list[dict[str, Any]] = []
    notes: dict[str, Any] = {"load_average_start": round(os.getloadavg()[0], 1)}
    with scratch_database(args, "admission") as settings:
        app = build_application(settings)
        app.create_program("bench", "Bench", ctx(), school_year=SCHOOL_YEAR, settings={"phase_zero": True})
        pid = program_id("bench")
        events, load = timed(lambda: store_entrants(app, pid, args.students, args.tickets, args.seed))
        notes.update(events=events, load_s=round(load, 1))
        with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
            conn.execute("ANALYZE registration_events")

        started, start_s = timed(lambda: app.start_admission(pid, CAPS, ctx(), seed=args.seed))
        run_id = uuid.UUID(started.ids["run_id"])
        run = app.load_admission_run(run_id)
        program = app.load_program(pid)
        snapshot, fold = timed(lambda: admission_input(app, program, run.input_position))
        result, algorithm = timed(lambda: compute_admission(snapshot.input, parse_caps(CAPS), run.seed))
        assert result.digest() == run.assignment_digest
        lines.append(fig("admission.start_admission", start_s, "s", 1.0))
        lines.append(fig("admission.part_input_fold", fold, "s", 1.0))
        lines.append(fig("admission.part_algorithm", algorithm, "s", 1.0))

        committed, commit_s = timed(lambda: app.commit_admission(run_id, ctx()))
        lines.append(fig("admission.commit_admission_warm", commit_s, "s", 1.0))
        app.close()

        # A second run, committed by a fresh process: the commit recomputes and checks it first.
        app = build_application(settings)
        second = app.start_admission(pid, {k: v + 500 for k, v in CAPS.items()}, ctx(), seed=args.seed + 1)
        second_id = uuid.UUID(second.ids["run_id"])
        app.close()
        app = build_application(settings)
        cold, cold_s = timed(lambda: app.commit_admission(second_id, ctx()))
        lines.append(fig("admission.commit_admission_cold", cold_s, "s", 1.0))
        stats = run.stats
        notes.update(
            tickets=stats["tickets"],
            entrants=stats["entrants"],
            winners=stats["winners"],
            winning_tickets=stats["winning_tickets"],
            admitted=committed.ids["admitted"],
            second_admitted=cold.ids["admitted"],
            replay_identical=app.replay_admission(run_id).identical,
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
## Admission lottery (Phase Zero)

`.venv/bin/python bench/admission.py --students {args.students} --tickets {args.tickets}` at
{commit.stdout.strip()} on {datetime.now(tz=UTC):%Y-%m-%d}: PostgreSQL on 127.0.0.1, client and server on the same
machine (load average {notes["load_average_start"]} at the start, {notes["load_average_end"]} at the end). The
program's {notes["entrants"]} entrants in {notes["tickets"]} groups ({notes["events"]} events, {notes["load_s"]} s
to write) were drawn under the caps {CAPS}: {notes["winners"]} admitted in {notes["winning_tickets"]} groups, then
{notes["second_admitted"]} more by a second run with caps 500 higher, committed by a fresh process (cold: it
recomputes the run and checks its digests before writing). Each commit is one save of two events (the run's
`Committed` and one `Program.StudentsAdmitted`). Baselines: the 1 s targets. Replay identical:
{notes["replay_identical"]}.

| name | value | unit | baseline | ratio |
|---|---|---|---|---|
{rows}
"""
    with DOC.open("a", encoding="utf-8") as doc:
        doc.write(text)


if __name__ == "__main__":
    main()
