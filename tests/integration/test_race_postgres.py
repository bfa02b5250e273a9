"""Race test on PostgreSQL: many writers, threads and processes, at ten tiny sections.

Replacements (an add that drops the conflicting seat in the same commit) race with the rest,
and so do waitlists: a refused add often joins the section's queue, and every freed seat is
offered to the queue in the same commit.

One program, ten sections of capacity 5 (two classes with two sections each, for switches),
400 students with profiles. Eight threads in this process (sharing one app, as a web server
would) and two spawned OS processes (two threads each, each process with its own
`Registration` on the same schema) push adds, drops and switches concurrently. Every command
carries its own command id and each worker records (command id, accepted/refused + code,
returned position). Afterwards the store is checked against the records:

- no section ever held more Enrolled students than its capacity (Section aggregates, and an
  independent fold of every stored event in log order);
- no double booking (two sections of one class, or two sections sharing a timeslot);
- nobody jumped a waitlist: no section open with a free seat has a queued student who could
  take it (docs/waitlists.md);
- Student-side and Section-side seats agree;
- every accepted command's events are stored, the last one exactly at the returned position;
- every refused command wrote nothing, and no event belongs to a command nobody accepted;
- version conflicts really happened (the apps' `retries` counters).

This file is also the worker program for the spawned processes (`python <this file>`):
it reads its configuration as one JSON line on stdin, prints `ready`, waits for `go`,
and writes its records as JSON to the path it was given.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from regledger.adapters.bootstrap import build_application
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import ProgramId, SectionId, program_id
from regledger.domain.rules import promotion_refusal
from regledger.domain.student import Student
from regledger.domain.values import CommandContext

CAPACITY = 5
STUDENTS = 400
THREADS_HERE = 8
PROCESSES = 2
THREADS_PER_PROCESS = 2
OPS_PER_THREAD = 120
SEED = 20261127
# Refusals a well-behaved run may produce; anything else points at a bug in the test or the app.
EXPECTED_CODES = {
    "section_full",
    "already_in_class",
    "timeslot_conflict",
    "not_registered",
    "not_enrolled",
    "conflict",
    "already_waitlisted",
    "already_registered",
    "seats_available",
    "waitlist_ahead",
}

# (class code, timeslot index) per section; A and B have two sections each (switch pairs),
# and C..H share timeslots with them (and G/H with each other), so conflicts are exercised.
LAYOUT = [("A", 0), ("A", 1), ("B", 2), ("B", 3), ("C", 0), ("D", 1), ("E", 2), ("F", 3), ("G", 4), ("H", 4)]
HOT_WEIGHT = {"A": 3, "B": 3}

Record = dict[str, Any]


# -- shared by the test process and the worker processes ---------------------------------


def settings_mapping(settings: Settings, pool_size: int) -> dict[str, str]:
    """The REGLEDGER_* mapping a worker process rebuilds its Settings from."""
    return {
        "REGLEDGER_STORE": "postgres",
        "REGLEDGER_POSTGRES_HOST": settings.postgres_host,
        "REGLEDGER_POSTGRES_PORT": str(settings.postgres_port),
        "REGLEDGER_POSTGRES_DB": settings.postgres_db,
        "REGLEDGER_POSTGRES_USER": settings.postgres_user,
        "REGLEDGER_POSTGRES_PASSWORD": settings.postgres_password.get_secret_value(),
        "REGLEDGER_POSTGRES_SCHEMA": settings.postgres_schema,
        "REGLEDGER_POSTGRES_POOL_SIZE": str(pool_size),
        "REGLEDGER_POSTGRES_MAX_OVERFLOW": "2",
        "REGLEDGER_LOG_LAYOUT": settings.log_layout,
    }


def student_key(n: int) -> str:
    return f"s{n:03d}"


class Worker:
    """One client: a seeded stream of adds, drops and switches; records every outcome."""

    def __init__(self, app: Registration, plan: dict[str, Any], name: str, seed: int, own: list[str]) -> None:
        self.app = app
        self.name = name
        self.rng = random.Random(seed)
        self.program = ProgramId(UUID(plan["program_id"]))
        self.sections = [SectionId(UUID(s)) for s in plan["sections"]]
        self.weights = plan["weights"]
        self.slot = {SectionId(UUID(s)): n for s, n in zip(plan["sections"], plan["slots"], strict=True)}
        self.partner = {SectionId(UUID(a)): SectionId(UUID(b)) for a, b in plan["partners"].items()}
        self.all_students = [student_key(n) for n in range(STUDENTS)]
        self.own = list(own)  # students this worker adds first, so all 400 are pushed at the sections
        self.held: dict[str, SectionId] = {}  # what this worker believes, from its own accepted commands
        self.records: list[Record] = []

    def run(self, ops: int) -> list[Record]:
        for i in range(ops):
            # The last quarter mostly drops: seats free up while queues are long, so the end
            # state has free seats for the waitlist check to look at.
            self.step(f"{self.name}-{i:04d}", draining=i >= ops * 3 // 4)
        return self.records

    def step(self, command_id: str, *, draining: bool = False) -> None:
        roll = self.rng.random()
        if draining and self.held and roll < 0.6:
            self.drop(command_id)
            return
        if roll < 0.55 or not self.held:
            self.add(command_id)
        elif roll < 0.75:
            self.drop(command_id)
        elif roll < 0.88:
            self.replace(command_id)
        else:
            self.switch(command_id)

    def pick_section(self) -> SectionId:
        return self.rng.choices(self.sections, weights=self.weights)[0]

    def add(self, command_id: str) -> None:
        student = self.own.pop() if self.own else self.rng.choice(self.all_students)
        section = self.pick_section()
        code = self.call(
            "add",
            command_id,
            student,
            [section],
            lambda ctx: self.app.add_section(self.program, student, section, ctx),
            on_accept=lambda: self.held.__setitem__(student, section),
        )
        if code == "section_full" and self.rng.random() < 0.5:  # queue for it, as students do
            self.call(
                "waitlist",
                f"{command_id}-w",
                student,
                [section],
                lambda ctx: self.app.join_waitlist(self.program, student, section, ctx),
                on_accept=lambda: None,
            )

    def drop(self, command_id: str) -> None:
        if self.rng.random() < 0.15:  # someone else's student, likely refused: exercises refusals
            student, section = self.rng.choice(self.all_students), self.pick_section()
        else:
            student = self.rng.choice(sorted(self.held))
            section = self.held[student]
        self.call(
            "drop",
            command_id,
            student,
            [section],
            lambda ctx: self.app.drop_section(self.program, student, section, ctx),
            on_accept=lambda: self.held.pop(student, None),
        )

    def replace(self, command_id: str) -> None:
        """Move a held seat to another class's section in the same timeslot, by replacement."""
        student = self.rng.choice(sorted(self.held))
        old = self.held[student]
        new = self.rng.choice([s for s in self.sections if s != old and self.slot[s] == self.slot[old]])
        self.call(
            "replace",
            command_id,
            student,
            [new, old],
            lambda ctx: self.app.add_section(self.program, student, new, ctx, replace=True),
            on_accept=lambda: self.held.__setitem__(student, new),
        )

    def switch(self, command_id: str) -> None:
        movable = sorted(s for s, sec in self.held.items() if sec in self.partner)
        if movable and self.rng.random() < 0.9:
            student = self.rng.choice(movable)
            old = self.held[student]
        else:
            student = self.rng.choice(self.all_students)
            old = self.rng.choice(sorted(self.partner))
        new = self.partner[old]
        self.call(
            "switch",
            command_id,
            student,
            [old, new],
            lambda ctx: self.app.switch_sections(self.program, student, old, new, ctx),
            on_accept=lambda: self.held.__setitem__(student, new),
        )

    def call(
        self,
        op: str,
        command_id: str,
        student: str,
        sections: list[SectionId],
        command: Callable[[CommandContext], Any],
        on_accept: Callable[[], object],
    ) -> str | None:
        """Run and record one command; returns the refusal's code (None if not refused)."""
        record: Record = {
            "command_id": command_id,
            "worker": self.name,
            "op": op,
            "student": student,
            "sections": [str(s) for s in sections],
        }
        ctx = CommandContext(actor=student, command_id=command_id)
        try:
            result = command(ctx)
        except RegistrationError as refusal:
            record |= {"status": "refused", "code": refusal.code}
            if refusal.code in ("not_registered", "not_enrolled"):
                self.held.pop(student, None)  # another worker moved this student
        except Exception as exc:  # recorded, and failed on by the test
            record |= {"status": "error", "error": repr(exc)}
        else:
            record |= {
                "status": "accepted",
                "outcome": result.outcome,
                "position": result.position,
                "replayed": result.replayed,
            }
            on_accept()
        self.records.append(record)
        return record.get("code")


def run_threads(
    app: Registration, plan: dict[str, Any], names: list[str], owns: list[list[str]], go: Callable[[], None]
) -> list[Record]:
    """Run one Worker per name on its own thread; all start together once `go` returns."""
    workers = [
        Worker(app, plan, name, zlib.crc32(f"{SEED}/{name}".encode()), own)
        for name, own in zip(names, owns, strict=True)
    ]
    barrier = threading.Barrier(len(workers) + 1)
    results: list[list[Record]] = [[] for _ in workers]

    def target(index: int) -> None:
        barrier.wait()
        results[index] = workers[index].run(plan["ops"])

    threads = [threading.Thread(target=target, args=(i,), name=w.name) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    go()
    barrier.wait()
    for thread in threads:
        thread.join()
    return [r for rs in results for r in rs]


def worker_process_main() -> None:
    """Entry point of a spawned worker process (see the module docstring)."""
    config = json.loads(sys.stdin.readline())
    settings = Settings.from_mapping(config["settings"])
    app = build_application(settings)
    try:
        # Warm the cache like a running server would have, then report ready.
        app.load_program(ProgramId(UUID(config["plan"]["program_id"])))
        for section in config["plan"]["sections"]:
            app.load_section(SectionId(UUID(section)))
        print("ready", flush=True)

        def go() -> None:
            if sys.stdin.readline().strip() != "go":
                raise SystemExit("expected go")

        records = run_threads(app, config["plan"], config["names"], config["owns"], go)
        Path(config["out"]).write_text(json.dumps({"records": records, "retries": app.runner.retries}))
    finally:
        app.close()


# -- the test ------------------------------------------------------------------------------


def set_up(app: Registration) -> tuple[ProgramId, dict[SectionId, tuple[str, int]], dict[str, str]]:
    """Program, timeslots, classes, ten sections of capacity 5, 400 profiles (setup-* command ids)."""
    counter = iter(range(1_000_000))

    def admin() -> CommandContext:
        return CommandContext(actor="admin", command_id=f"setup-{next(counter)}")

    app.create_program("race", "Race", admin(), school_year=2027)
    pid = program_id("race")
    app.change_settings(pid, {"waitlist_enabled": True}, admin())
    start = datetime(2027, 3, 6, 9, tzinfo=UTC)
    slots = [
        UUID(
            app.add_timeslot(
                pid, f"T{i}", start + timedelta(hours=i), start + timedelta(hours=i, minutes=50), admin()
            ).ids["timeslot_id"]
        )
        for i in range(5)
    ]
    subjects = {
        code: UUID(app.add_subject(pid, code, f"Class {code}", admin(), class_size_max=CAPACITY).ids["subject_id"])
        for code in dict.fromkeys(code for code, _ in LAYOUT)
    }
    sections: dict[SectionId, tuple[str, int]] = {}
    for code, slot in LAYOUT:
        result = app.create_section(subjects[code], [slots[slot]], admin())
        sections[SectionId(UUID(result.ids["section_id"]))] = (code, slot)
    for n in range(STUDENTS):
        key = student_key(n)
        app.submit_profile(
            pid, key, f"Student {n}", 2029 + n % 4, {}, CommandContext(actor=key, command_id=f"setup-p{n}")
        )
    ids = list(sections)
    partners = {str(ids[0]): str(ids[1]), str(ids[1]): str(ids[0]), str(ids[2]): str(ids[3]), str(ids[3]): str(ids[2])}
    return pid, sections, partners


def read_log(app: Registration) -> list[tuple[int, Any]]:
    """Every stored event with its notification id, in log order."""
    out: list[tuple[int, Any]] = []
    start = 1
    while True:
        page = app.recorder.select_notifications(start=start, limit=1000)
        out.extend((n.id, app.mapper.to_domain_event(n)) for n in page)
        if len(page) < 1000:
            return out
        start = page[-1].id + 1


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("log_layout", ["shared", "per_program"])
def test_concurrent_adds_drops_switches_and_replaces_never_overbook(
    make_postgres_settings, make_app, tmp_path, log_layout
):
    base = make_postgres_settings()
    settings = base.model_copy(
        update={"postgres_pool_size": THREADS_HERE, "postgres_max_overflow": 2, "log_layout": log_layout}
    )
    app: Registration = make_app(settings, Registration)
    began = time.monotonic()
    pid, layout, partners = set_up(app)
    # per_program: the program has its own events table, which every worker's saves lock.
    assert (getattr(app, "logs", None) is not None and app.logs.table_of(pid) is not None) == (  # type: ignore[attr-defined]
        log_layout == "per_program"
    )
    section_ids = list(layout)

    # Every worker first adds its own slice of the 400 students, then picks at random.
    names = [f"t{i}" for i in range(THREADS_HERE)] + [
        f"p{p}t{t}" for p in range(PROCESSES) for t in range(THREADS_PER_PROCESS)
    ]
    shuffled = [student_key(n) for n in range(STUDENTS)]
    random.Random(SEED).shuffle(shuffled)
    owns = {name: shuffled[i :: len(names)] for i, name in enumerate(names)}
    plan = {
        "program_id": str(pid),
        "sections": [str(s) for s in section_ids],
        "weights": [HOT_WEIGHT.get(layout[s][0], 1) for s in section_ids],
        "slots": [layout[s][1] for s in section_ids],
        "partners": partners,
        "ops": OPS_PER_THREAD,
    }

    # Spawn the worker processes and wait until each has its own app warmed up.
    procs: list[tuple[subprocess.Popen[str], Path]] = []
    for p in range(PROCESSES):
        out = tmp_path / f"worker-{p}.json"
        proc_names = [n for n in names if n.startswith(f"p{p}t")]
        config = {
            "settings": settings_mapping(settings, THREADS_PER_PROCESS),
            "plan": plan,
            "names": proc_names,
            "owns": [owns[n] for n in proc_names],
            "out": str(out),
        }
        proc = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(config) + "\n")
        proc.stdin.flush()
        procs.append((proc, out))
    for proc, _ in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"worker process did not start: {line!r}\n{err}")

    def go() -> None:
        for proc, _ in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    here_names = names[:THREADS_HERE]
    pushed = time.monotonic()
    records = run_threads(app, plan, here_names, [owns[n] for n in here_names], go)
    retries = {"this process (8 threads)": app.runner.retries}
    for p, (proc, out) in enumerate(procs):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"worker process {p} failed:\n{err}"
        data = json.loads(out.read_text())
        records.extend(data["records"])
        retries[f"process {p} (2 threads)"] = data["retries"]
    push_seconds = time.monotonic() - pushed

    # -- what the workers saw ----------------------------------------------------------
    steps = [r for r in records if r["op"] != "waitlist"]  # a join follows some refused adds
    assert len(steps) == len(names) * OPS_PER_THREAD
    assert len({r["command_id"] for r in records}) == len(records)
    errors = [r for r in records if r["status"] == "error"]
    assert not errors, [r.get("error") for r in errors[:5]]
    accepted = {r["command_id"]: r for r in records if r["status"] == "accepted"}
    refused = {r["command_id"]: r for r in records if r["status"] == "refused"}
    codes = Counter(r["code"] for r in refused.values())
    assert set(codes) <= EXPECTED_CODES, codes
    assert not any(r["replayed"] for r in accepted.values())
    ops = Counter((r["op"], r["status"]) for r in records)
    for op in ("add", "drop", "switch", "replace", "waitlist"):
        assert ops[(op, "accepted")] > 0, ops
    assert {student_key(n) for n in range(STUDENTS)} <= {r["student"] for r in records if r["op"] == "add"}

    # -- the store, read by a fresh app (no cache shared with the writers) -------------
    verifier: Registration = make_app(settings, Registration)
    log = read_log(verifier)

    by_command: dict[str, list[int]] = defaultdict(list)
    seats: dict[UUID, set[UUID]] = {s: set() for s in section_ids}  # Section side
    holding: dict[UUID, set[UUID]] = defaultdict(set)  # Student side: sections held Enrolled
    peak: Counter[UUID] = Counter()
    promoted = 0  # seats given to a queue's student
    for position, event in log:
        by_command[event.command_id].append(position)
        kind = type(event).__qualname__
        if kind == "Section.StudentEnrolled":
            assert event.student_id not in seats[event.originator_id]
            seats[event.originator_id].add(event.student_id)
            peak[event.originator_id] = max(peak[event.originator_id], len(seats[event.originator_id]))
            promoted += event.cause == "waitlist"
        elif kind == "Section.StudentUnenrolled":
            seats[event.originator_id].remove(event.student_id)
        elif kind == "Student.SectionRegistered" and event.verb == "Enrolled":
            holding[event.originator_id].add(event.section.section_id)
        elif kind == "Student.RegistrationEnded" and event.verb == "Enrolled":
            holding[event.originator_id].remove(event.section_id)
        elif kind == "Student.SectionSwitched":
            holding[event.originator_id].remove(event.from_section_id)
            holding[event.originator_id].add(event.to_section.section_id)

    # Capacity: at every point of the log, and in the Section aggregates now.
    for section_id in section_ids:
        assert peak[section_id] <= CAPACITY, (layout[section_id], peak[section_id])
        section = verifier.load_section(section_id)
        assert section.capacity == CAPACITY
        assert len(section.enrolled) <= section.capacity
        assert set(section.enrolled) == seats[section_id]

    # Student side agrees with Section side, student by student (aggregates and fold).
    from_sections = defaultdict(set)
    for section_id, students in seats.items():
        for student in students:
            from_sections[student].add(section_id)
    assert {k: v for k, v in holding.items() if v} == dict(from_sections)
    for n in range(STUDENTS):
        student = verifier.get_student(pid, student_key(n))
        held = {sid for (sid, verb) in student.registrations if verb == "Enrolled"}
        assert held == holding.get(student.id, set()), student_key(n)

    # No double booking: one section per class, no two sections in one timeslot.
    for student, held in holding.items():
        classes = [layout[SectionId(s)][0] for s in held]
        slots = [layout[SectionId(s)][1] for s in held]
        assert len(set(classes)) == len(classes), (student, classes)
        assert len(set(slots)) == len(slots), (student, slots)

    # Nobody jumped a waitlist: a free seat in an open section has nobody queued who fits it.
    program = verifier.load_program(pid)
    queued = 0
    for section_id in section_ids:
        section = verifier.load_section(section_id)
        queued += len(section.waitlist)
        if section.seats_free <= 0 or section.status_refusal() is not None:
            continue
        subject = verifier.load_subject(section.subject_id)
        for waiting in section.waitlist:
            student = verifier.load(Student, waiting, "student")
            assert promotion_refusal(program, subject, section, student) is not None, (layout[section_id], waiting)

    # Accepted commands are stored, ending exactly at the position they returned.
    for command_id, record in accepted.items():
        stored = by_command.get(command_id)
        assert stored, f"accepted command {command_id} has no stored events"
        assert max(stored) == record["position"], (command_id, stored, record["position"])
    # Refused commands wrote nothing; nothing was written by a command nobody accepted.
    assert not set(refused) & set(by_command)
    assert {c for c in by_command if not c.startswith("setup-")} == set(accepted)

    # Conflicts were really exercised.
    total_retries = sum(retries.values())
    filled = sum(len(s) for s in seats.values())
    print(
        f"\nrace: {len(records)} commands in {push_seconds:.1f}s ({len(records) / push_seconds:.0f}/s), "
        f"total {time.monotonic() - began:.1f}s; accepted {len(accepted)}, refused {dict(codes)}; "
        f"ops {dict(ops)}; seats filled {filled}/{len(section_ids) * CAPACITY}; queued {queued}; "
        f"promoted {promoted}; retries {retries}"
    )
    assert any(count > 0 for count in retries.values()), retries
    assert total_retries > 0


if __name__ == "__main__":
    worker_process_main()
