"""A short scripted registration scenario on the configured store (SQLite by default)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from rich.console import Console
from rich.table import Table

from regledger.adapters.bootstrap import Services
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import ProgramId, SectionId, TimeslotId, program_id
from regledger.domain.values import ENROLLED, CommandContext

ADMIN = "admin@demo"


def admin() -> CommandContext:
    return CommandContext(actor=ADMIN)


def student(key: str) -> CommandContext:
    return CommandContext(actor=f"student:{key}")


def build_program(services: Services, slug: str) -> tuple[ProgramId, list[SectionId]]:
    app = services.app
    app.create_program(slug, "Splash demo", admin(), school_year=2027, settings={"waitlist_enabled": True})
    pid = program_id(slug)
    start = datetime(2026, 11, 21, 9, tzinfo=UTC)
    slots = [
        TimeslotId(
            UUID(
                app.add_timeslot(
                    pid, f"Sat {9 + i}:00", start + timedelta(hours=i), start + timedelta(hours=i, minutes=50), admin()
                ).ids["timeslot_id"]
            )
        )
        for i in range(3)
    ]
    sections: list[SectionId] = []
    for code, title, size, slot_indexes in (
        ("A101", "Knot Theory", 2, (0, 1)),
        ("B202", "Origami Engineering", 3, (0,)),
        ("C303", "Intro to Lockpicking", 2, (2,)),
    ):
        subject = UUID(app.add_subject(pid, code, title, admin(), class_size_max=size).ids["subject_id"])
        for index in slot_indexes:
            result = app.create_section(subject, [slots[index]], admin())  # type: ignore[arg-type]
            sections.append(SectionId(UUID(result.ids["section_id"])))
    return pid, sections


def run_demo(services: Services, console: Console) -> int:
    """Register a handful of students, show refusals, a switch and a drop; returns an exit code."""
    app = services.app
    slug = f"demo-{uuid4().hex[:8]}"
    pid, sections = build_program(services, slug)
    knots_sat9, knots_sat10, origami, lockpicking = sections
    for key, year in (("ada", 2029), ("ben", 2028), ("cy", 2030), ("dee", 2029)):
        app.submit_profile(pid, key, key.title(), year, {"email": f"{key}@example.org"}, student(key))
    steps: list[tuple[str, str, SectionId, str]] = [
        ("add", "ada", knots_sat9, ""),
        ("add", "ben", knots_sat9, ""),
        ("add", "cy", knots_sat9, "2 seats taken: section_full"),
        ("waitlist", "cy", knots_sat9, "queued for a seat"),
        ("add", "ada", knots_sat10, "one section per class"),
        ("add", "ada", origami, "Origami meets at 9:00 too"),
        ("switch", "ada", knots_sat10, "ada moves to 10:00; cy gets her seat"),
        ("add", "ada", origami, "9:00 is free now"),
        ("add", "dee", lockpicking, ""),
        ("drop", "ben", knots_sat9, "only Enrolled ends"),
    ]
    log = Table(title=f"Commands in program {slug}")
    for column in ("step", "student", "result", "note"):
        log.add_column(column)
    for verb, key, section, note in steps:
        log.add_row(verb, key, _run_step(services, pid, verb, key, section, knots_sat9), note)
    console.print(log)
    _print_state(services, console, pid, sections, "ada")
    return 0


def _run_step(services: Services, pid: ProgramId, verb: str, key: str, section: SectionId, home: SectionId) -> str:
    app = services.app
    ctx = student(key)
    try:
        if verb == "add":
            outcome = app.add_section(pid, key, section, ctx).outcome
        elif verb == "waitlist":
            outcome = app.join_waitlist(pid, key, section, ctx).outcome
        elif verb == "switch":
            outcome = app.switch_sections(pid, key, home, section, ctx).outcome
        else:
            outcome = app.drop_section(pid, key, section, ctx).outcome
    except RegistrationError as refusal:
        return f"[red]refused[/red] {refusal.code}: {refusal.message}"
    return f"[green]{outcome}[/green]"


def _print_state(services: Services, console: Console, pid: ProgramId, sections: list[SectionId], key: str) -> None:
    app = services.app
    seats = Table(title="Seats per section")
    for column in ("class", "section", "enrolled", "capacity", "waitlist"):
        seats.add_column(column)
    for section_id in sections:
        section = app.load_section(section_id)
        subject = app.load_subject(section.subject_id)
        seats.add_row(
            subject.title,
            str(section.index),
            str(len(section.enrolled)),
            str(section.capacity),
            str(len(section.waitlist)),
        )
        if len(section.enrolled) > section.capacity:
            raise AssertionError(f"section {section_id} over capacity")
    console.print(seats)
    schedule = Table(title=f"Schedule of {key}")
    schedule.add_column("class")
    schedule.add_column("timeslots")
    program = app.load_program(pid)
    for ref in app.get_student(pid, key).holding(ENROLLED):
        schedule.add_row(
            app.load_subject(ref.subject_id).title, ", ".join(program.timeslots[t].label for t in ref.timeslot_ids)
        )
    console.print(schedule)
