"""`regledger demo`: a whole (small) Splash season on embedded SQLite, in well under a minute.

1. A synthetic program (`generate_program`): its catalogue and students through the importer
   (`import_catalogue`, `import_students`, as `regledger import` does), then the students'
   stars and priorities recorded in a few large saves.
2. A lottery run with a recorded seed, committed, then replayed from the log to prove it
   identical.
3. A first-come-first-served rush: threads add, drop, switch, join waitlists and replace
   conflicting classes on the hottest sections through the real commands.
4. A class-change round: a fifth of the students request sections; a run is computed,
   committed and replayed.
5. The day of the program: check-in, a no-show sweep after the first timeslot, walk-ins seated
   by a batch registration.
6. Phase Zero on a second, oversubscribed program: entrants (some in groups of friends) are
   admitted by lottery within per-grade caps.
7. The notifier follows the log into an outbox (nothing is sent: no mail server).
Then lottery stats, the fullest rosters and one student's history from the projections, and
checks that no section is over capacity (views and aggregates agree) and nobody jumped a
waitlist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

from rich.console import Console

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.cli_common import table
from regledger.adapters.cli_lottery import print_replay
from regledger.adapters.demo_admission import admission_round
from regledger.adapters.demo_class_change import class_change_round
from regledger.adapters.demo_notify import notification_round
from regledger.adapters.demo_onsite import onsite_round
from regledger.adapters.demo_rush import RushTally, rush
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.synthetic import SyntheticProgram, generate_program
from regledger.adapters.views.sqlite import views_path
from regledger.domain.application import Registration
from regledger.domain.catalogue_entries import Catalogue, ClassEntry, SectionEntry, TimeslotEntry
from regledger.domain.ids import ProgramId, SectionId, TimeslotId, program_id, section_id, student_id, subject_id
from regledger.domain.rules import promotion_refusal
from regledger.domain.student import Student
from regledger.domain.student_import import StudentEntry
from regledger.domain.values import CommandContext, SectionRef


def admin() -> CommandContext:
    """A fresh command (its own id) by the demo's admin."""
    return CommandContext(actor="admin:demo", reason="demo season")


# Splash is ~3000 students and ~700 sections; the demo keeps that ratio.
SECTIONS_PER_STUDENT = 70 / 300
CLASSES_PER_SECTION = 55 / 70


@dataclass(frozen=True)
class DemoOptions:
    students: int = 300
    seed: int = 2026
    threads: int = 6
    database: Path = Path("var/demo.sqlite3")
    operations_per_student: float = 1.5


def fresh_database(path: Path) -> list[Path]:
    """Remove the demo's event and view files (and SQLite's -wal/-shm); returns what was removed."""
    removed = []
    for base in (path, views_path(path)):
        for candidate in (base, Path(f"{base}-wal"), Path(f"{base}-shm"), Path(f"{base}-journal")):
            if candidate.exists():
                candidate.unlink()
                removed.append(candidate)
    return removed


def run_demo(options: DemoOptions, console: Console) -> int:
    """Run the season; returns the exit code (1 if a check fails)."""
    started = time.perf_counter()
    database = options.database.resolve()
    removed = fresh_database(database)
    console.print(
        f"[bold]regledger demo[/bold]: embedded SQLite at {database} "
        f"({'recreated' if removed else 'new'}; views beside it), {options.students} students, seed {options.seed}"
    )
    settings = Settings.from_mapping({"REGLEDGER_STORE": "sqlite", "REGLEDGER_SQLITE_PATH": str(database)})
    services = build(settings)
    try:
        return _season(services, options, console, started)
    finally:
        services.close()


def _season(services: Services, options: DemoOptions, console: Console, started: float) -> int:
    app = services.app
    sections = max(8, round(options.students * SECTIONS_PER_STUDENT))
    program = generate_program(
        options.seed,
        students=options.students,
        sections=sections,
        classes=max(4, round(sections * CLASSES_PER_SECTION)),
    )
    slug = f"synthetic-{program.seed}"
    with console.status("importing the catalogue and the students, then their stars and priorities..."):
        pid = load_program(app, program, slug)
    labels = {
        section_id(subject_id(pid, s.class_code), s.index + 1): f"{s.class_code}/{s.index + 1}"
        for s in program.sections
    }
    console.print(
        f"1. program [bold]{slug}[/bold]: {len(program.classes)} classes, {len(program.sections)} sections "
        f"and {len(program.students)} students imported; stars and priorities ({app.position()} events)"
    )

    with console.status("computing the lottery..."):
        started_run = app.start_lottery(pid, admin(), seed=options.seed)
    run_id = UUID(started_run.ids["run_id"])
    committed = app.commit_lottery(run_id, admin())
    console.print(
        f"2. lottery run {run_id} with recorded seed {started_run.ids['seed']}: "
        f"committed {committed.ids['assignments']} seats"
    )
    report = app.replay_lottery(run_id)
    print_replay(report)

    services.wait_for(app.position(), timeout=30)
    tally, retries = rush(services, program, pid, labels, options, console)
    rows = [(op, outcome, count) for (op, outcome), count in sorted(tally.outcomes.items())]
    out = table("3. First-come-first-served rush (outcome by refusal code)", ["operation", "outcome", "count"], rows)
    out.caption = f"{sum(tally.outcomes.values())} commands from {options.threads} threads, {retries} retries"
    console.print(out)

    changed_ok = class_change_round(
        app, program, pid, lambda code, index: section_id(subject_id(pid, code), index + 1), options.seed, console
    )
    onsite_ok = onsite_round(services, program, pid, options.seed, console, step=5)
    admitted_ok = admission_round(app, options.seed, program.school_year, console, step=6)
    notified_ok = notification_round(app, options.database.resolve(), console, step=7)

    services.wait_for(app.position(), timeout=30)
    out = table("Lottery stats", ["", "value"], app.lottery_stats(run_id).render_rows())
    console.print(out)
    keys: dict[UUID, str] = {student_id(pid, s.key): s.key for s in program.students}
    _fullest_rosters(services, pid, labels, keys, console)
    key = _interesting_student(tally, program)
    _student_history(services, pid, key, labels, console)
    ok = _capacity_check(services, pid, console) and _waitlist_check(services, pid, console)
    console.print(f"demo finished in {time.perf_counter() - started:.1f}s", soft_wrap=True)
    return 0 if ok and report.identical and changed_ok and onsite_ok and admitted_ok and notified_ok else 1


def catalogue_of(program: SyntheticProgram) -> Catalogue:
    """The synthetic program's catalogue as import entries (its sections numbered from 1)."""
    sections: dict[str, list[SectionEntry]] = {}
    for s in program.sections:
        sections.setdefault(s.class_code, []).append(SectionEntry(s.index + 1, s.timeslot_labels))
    return Catalogue(
        timeslots=tuple(TimeslotEntry(t.label, t.start, t.end) for t in program.timeslots),
        classes=tuple(
            ClassEntry(
                c.code,
                c.title,
                c.category,
                c.grade_min,
                c.grade_max,
                class_size_max=c.class_size_max,
                is_lunch=c.is_lunch,
                sections=tuple(sections.get(c.code, ())),
            )
            for c in program.classes
        ),
    )


def load_program(app: Registration, program: SyntheticProgram, slug: str) -> ProgramId:
    """The program, its catalogue and students through the importer, then everyone's stars and
    rankings (recorded by the Student's own methods, as the commands would)."""
    settings = {"priority_limit": program.priority_limit, "waitlist_enabled": True}
    app.create_program(
        slug, f"Synthetic Splash {program.seed}", admin(), school_year=program.school_year, settings=settings
    )
    pid = program_id(slug)
    app.import_catalogue(pid, catalogue_of(program), admin())
    people = [StudentEntry(s.key, s.key, s.graduation_year, f"{s.key}@example.org") for s in program.students]
    app.import_students(pid, people, admin())
    categories = {c.code: c.category for c in program.classes}
    refs = {
        (s.class_code, s.timeslot_labels[0]): SectionRef(
            section_id(subject_id(pid, s.class_code), s.index + 1),
            subject_id(pid, s.class_code),
            categories[s.class_code],
            tuple(TimeslotId(program.timeslot_id(label)) for label in s.timeslot_labels),
        )
        for s in program.sections
    }
    audit = admin().audit()
    students = app.aggregates.fetch([student_id(pid, s.key) for s in program.students])
    batch: list[Student] = []
    for person in program.students:
        student = students[student_id(pid, person.key)]
        assert isinstance(student, Student)
        for code in person.stars:
            student.star(subject_id(pid, code), audit)
        for label, codes in sorted(person.priorities.items()):
            ranked = [refs[(code, label)] for code in codes[: program.priority_limit]]
            student.rank(TimeslotId(program.timeslot_id(label)), ranked, audit)
        batch.append(student)
        if len(batch) == 200 or person is program.students[-1]:
            app.save(*batch)
            for saved in batch:
                app.aggregates.put(saved)
            batch.clear()
    return pid


def _fullest_rosters(
    services: Services, pid: ProgramId, labels: dict[SectionId, str], keys: dict[UUID, str], console: Console
) -> None:
    counts = [c for c in services.views.seat_counts(pid) if c.section_id in labels]
    counts.sort(key=lambda c: (-c.taken, -c.capacity, labels[SectionId(c.section_id)]))
    for c in counts[:3]:
        roster = sorted(keys.get(s, str(s)) for s in services.views.students(c.section_id))
        out = table(
            f"Roster of {labels[SectionId(c.section_id)]} ({c.taken}/{c.capacity}, {c.waitlisted} waitlisted)",
            ["students (from the views)"],
            [(", ".join(roster),)],
        )
        console.print(out)


def _interesting_student(tally: RushTally, program: SyntheticProgram) -> str:
    """A student seated by the lottery who then switched (else added, else dropped) in the rush."""
    for op in ("switch", "add", "drop"):
        both = tally.accepted.get(op, set()) & tally.accepted.get("drop" if op != "drop" else "add", set())
        for keys in (both, tally.accepted.get(op, set())):
            if keys:
                return min(keys)
    return program.students[0].key


def _student_history(
    services: Services, pid: ProgramId, key: str, labels: dict[SectionId, str], console: Console
) -> None:
    rows = []
    for n, i in enumerate(services.views.history(student_id=student_id(pid, key)), start=1):
        ended = "" if i.end_cause is None else f"{i.end_cause} by {i.end_actor}"
        label = labels.get(SectionId(i.section_id), str(i.section_id)[:8])
        rows.append((n, i.valid_from.strftime("%H:%M:%S"), label, i.verb, i.cause, i.actor, ended or "(current)"))
    out = table(
        f"History of student {key} (from the views, in order)",
        ["#", "at", "section", "verb", "cause", "actor", "ended"],
        rows,
    )
    console.print(out)


def _capacity_check(services: Services, pid: ProgramId, console: Console) -> bool:
    app = services.app
    counts = services.views.seat_counts(pid)
    problems = []
    for c in counts:
        section = app.load_section(SectionId(c.section_id))
        if c.taken > c.capacity:
            problems.append(f"{c.section_id}: {c.taken} > {c.capacity}")
        if len(section.enrolled) != c.taken or section.capacity != c.capacity:
            problems.append(
                f"{c.section_id}: views {c.taken}/{c.capacity}, aggregate {len(section.enrolled)}/{section.capacity}"
            )
    if problems:
        console.print(f"[red]capacity check FAILED[/red]: {'; '.join(problems[:5])}", soft_wrap=True)
        return False
    seats = sum(c.taken for c in counts)
    console.print(
        f"capacity check: OK, no section over capacity ({len(counts)} sections, {seats} seats); "
        "views and aggregates agree",
        soft_wrap=True,
    )
    return True


def _waitlist_check(services: Services, pid: ProgramId, console: Console) -> bool:
    """No free seat that someone queued could take (docs/waitlists.md), read from the aggregates."""
    app = services.app
    program = app.load_program(pid)
    queued = [c for c in services.views.seat_counts(pid) if c.waitlisted]
    jumped = []
    for c in queued:
        section = app.load_section(SectionId(c.section_id))
        if section.seats_free <= 0 or section.status_refusal() is not None:
            continue
        subject = app.load_subject(section.subject_id)
        for waiting in section.waitlist:
            if promotion_refusal(program, subject, section, app.load(Student, waiting, "student")) is None:
                jumped.append(f"{c.section_id}: {waiting} could take a free seat")
    if jumped:
        console.print(f"[red]waitlist check FAILED[/red]: {'; '.join(jumped[:5])}", soft_wrap=True)
        return False
    places = sum(c.waitlisted for c in queued)
    console.print(
        f"waitlist check: OK, {places} places in {len(queued)} queues; every free seat went to the queue first",
        soft_wrap=True,
    )
    return True
