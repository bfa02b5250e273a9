"""Day-of CLI commands: check-in, attendance, and `batch-enroll` (a list of students seated in a
section, each on their own, `domain/batch_commands.py`)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated
from uuid import UUID

import typer

from regledger.adapters.cli_address import (
    PROGRAM_OPTION_HELP,
    SECTION_HELP,
    STUDENT_HELP,
    section_address,
    student_address,
)
from regledger.adapters.cli_common import (
    IdempotencyKeyOption,
    ReasonOption,
    admin_context,
    done,
    run_refusable,
    services,
)
from regledger.adapters.cli_lookup import program_named, section_aggregate, section_name, section_named, zone
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit
from regledger.adapters.cli_token import keys_from
from regledger.domain.ids import SectionId, program_id, timeslot_id
from regledger.domain.onsite_commands import ATTENDED
from regledger.domain.values import check_key
from regledger.projections.student_filters import StudentFilter, select_students


def batch_enroll(
    section: Annotated[str, typer.Argument(help=SECTION_HELP)],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; recorded on every seat).")],
    keys_file: Annotated[
        Path | None,
        typer.Option("--keys-file", help="One student key per line, or a CSV with a student_key column ('-': stdin)."),
    ] = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="A student key (repeatable).")] = None,
    checked_in: Annotated[
        bool | None, typer.Option("--checked-in/--not-checked-in", help="Filter: by the day's check-in.")
    ] = None,
    grades: Annotated[str | None, typer.Option("--grades", help="Filter: grades, e.g. 9-10 or 11.")] = None,
    free_in: Annotated[
        str | None, typer.Option("--free-in", help="Filter: no Enrolled section in this timeslot (label).")
    ] = None,
    override_capacity: Annotated[
        bool, typer.Option("--override-capacity", help="Seat past the section's capacity.")
    ] = False,
    program: Annotated[str | None, typer.Option("--program", help=PROGRAM_OPTION_HELP)] = None,
    idempotency_key: IdempotencyKeyOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Seat each listed student in a section: ok, skipped (already there), conflict, full or
    refused, per student (each student's seat is its own command; a repeat with the same
    --idempotency-key repeats nothing). Students come from --keys-file/--key, or from the
    filters (--checked-in, --grades, --free-in) over the views."""
    filtering = checked_in is not None or grades is not None or free_in is not None
    keys = [] if filtering and not (keys_file or key) else keys_from(keys_file, key)
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=filtering) as built:
        app = built.app
        found = section_aggregate(app, section_address(section, program))
        name = section_name(app, found)
        if filtering:
            if keys:
                raise typer.BadParameter("give keys or filters, not both", param_hint="--key")
            slot = None if free_in is None else timeslot_id(found.program_id, free_in)
            where = StudentFilter(checked_in, *_grades(grades), slot)
            keys = select_students(built.views, found.program_id, where)
            if not keys:
                raise typer.BadParameter("the filters chose no student", param_hint="--grades")
        result = run_refusable(
            lambda: app.batch_register(
                found.program_id, found.section_id, keys, ctx, override_capacity=override_capacity
            )
        )
    rows = [(o.student_key, o.status, o.code, o.message) for o in result.outcomes]
    counts = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items()))
    listing = Listing(
        f"Batch registration into {name}",
        cols("student_key:student", "status", "code", "message"),
        rows,
        caption=f"{counts} (command {result.command_id})",
        items="outcomes",
        about={"section_id": str(found.section_id), "counts": result.counts, "command_id": result.command_id},
    )
    emit(listing, fmt)


def check_in(
    student: Annotated[str, typer.Argument(help=STUDENT_HELP)],
    undo: Annotated[bool, typer.Option("--undo", help="Take back a check-in recorded by mistake.")] = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Check a student in on the day (again changes nothing), or --undo it."""
    who = student_address(student)
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        command = built.app.undo_check_in if undo else built.app.check_in
        result = run_refusable(lambda: command(who.program_id, who.key, ctx))
    if result.outcome == "Unchanged":
        done(result, f"{who} ({who.student_id}) was already checked in")
    else:
        done(result, f"{'undid the check-in of' if undo else 'checked in'} {who} ({who.student_id})")


def attend(
    section: Annotated[str, typer.Argument(help=SECTION_HELP)],
    student: Annotated[str, typer.Argument(help=STUDENT_HELP)],
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Mark a student present in a section (the verb Attended; read per day with `attendance`)."""
    who = student_address(student)
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        app = built.app
        found = section_aggregate(app, section_address(section, who.slug))
        name = section_name(app, found)
        result = run_refusable(lambda: app.record_attendance(who.program_id, who.key, found.section_id, ctx))
    already = " (already marked)" if result.outcome == "Unchanged" else ""
    done(result, f"{who} ({who.student_id}) present in {name}{already}")


def attendance(
    section: Annotated[str, typer.Argument(help=SECTION_HELP)],
    day: Annotated[str | None, typer.Option("--day", help="YYYY-MM-DD in the program's zone (default: today).")] = None,
    program: Annotated[str | None, typer.Option("--program", help=PROGRAM_OPTION_HELP)] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Who was marked present in a section on a day."""
    try:
        wanted = date.fromisoformat(day) if day else None
    except ValueError:
        raise typer.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--day") from None
    with services() as built:
        reads = built.views
        view = section_named(reads, section_address(section, program))
        owner = program_named(reads, view.program_id)
        tz = zone(owner)
        wanted = wanted or datetime.now(tz=tz).date()
        marked = [
            (i.student_id, i.valid_from)
            for i in reads.history(section_id=view.section_id)
            if i.verb == ATTENDED and i.valid_from.astimezone(tz).date() == wanted
        ]
        students = reads.student_views(s for s, _ in marked)
    rows = [
        (students[s].key if s in students else str(s), students[s].name if s in students else None, at)
        for s, at in marked
    ]
    listing = Listing(
        f"Attendance of {view.code} {view.class_title} on {wanted.isoformat()}",
        cols("key:student", "name", "at:marked at"),
        rows,
        caption=f"{len(rows)} present",
        items="students",
        about={"section_id": str(view.section_id), "day": wanted.isoformat()},
        zone=tz,
    )
    emit(listing, fmt)


def no_shows(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    timeslot: Annotated[
        str | None, typer.Option("--timeslot", help="The timeslot's label: no-shows whose first class is in it.")
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded on every event).")] = "",
    preview: Annotated[bool, typer.Option("--preview", help="Only say who would lose which seats.")] = False,
    undo: Annotated[str | None, typer.Option("--undo", help="Undo this sweep (its id) instead.")] = None,
    idempotency_key: IdempotencyKeyOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Unenrol students not checked in whose first class is in a timeslot (preview first), or
    --undo a sweep: seats still free are given back, the others are reported."""
    ctx = admin_context(reason, idempotency_key)
    pid = program_id(run_refusable(lambda: check_key(slug, "slug")))
    with services(catch_up=False) as built:
        app = built.app
        if undo is not None:
            sweep = _uuid(undo, "--undo")
            report = run_refusable(lambda: app.undo_no_shows(pid, sweep, ctx))
        elif timeslot is None:
            raise typer.BadParameter("give --timeslot (or --undo SWEEP)", param_hint="--timeslot")
        else:
            slot = timeslot_id(pid, timeslot)
            run_refusable(lambda: app.load_program(pid).timeslot(slot))
            report = run_refusable(lambda: app.unenroll_no_shows(pid, slot, ctx, preview=preview))
        names = {s: section_name(app, app.load_section(SectionId(UUID(s)))) for v in report.removed.values() for s in v}
    not_back = report.not_restored or {}
    rows = [
        (key, names[s], not_back.get(key, {}).get(s, "") if undo else "", s)
        for key, sections in sorted(report.removed.items())
        for s in sections
    ]
    verb = "undone" if undo else ("would end" if not report.done else "ended")
    listing = Listing(
        f"No-show sweep {report.sweep_id}: {verb}",
        cols("student", "section", Column("not_restored", "not given back", in_table=bool(undo)), "section_id"),
        rows,
        caption=f"{len(report.removed)} students, {len(rows)} seats",
        items="seats",
        about={"sweep_id": str(report.sweep_id), "done": report.done, "undo": bool(undo)},
    )
    emit(listing, fmt)


def _grades(text: str | None) -> tuple[int | None, int | None]:
    if text is None:
        return None, None
    low, _, high = text.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: grades are N or N-M", param_hint="--grades") from None


def _uuid(text: str, option: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an id", param_hint=option) from None
