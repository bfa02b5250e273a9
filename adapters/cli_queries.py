"""Read-only CLI commands over the views: roster, schedule, history, registration types.

Each prints a table, a JSON document or CSV (`--format`); times are shown in the program's zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Annotated
from uuid import UUID

import typer

from regledger.adapters.cli_address import (
    PROGRAM_OPTION_HELP,
    SECTION_HELP,
    section_address,
    student_address,
)
from regledger.adapters.cli_common import AS_OF_HELP, local_when, parse_when, services
from regledger.adapters.cli_lookup import program_named, section_named, student_named, zone
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit
from regledger.domain.values import ENROLLED
from regledger.projections.catalogue import SectionView, StudentView
from regledger.projections.views import Interval

ProgramOption = Annotated[str | None, typer.Option("--program", help=PROGRAM_OPTION_HELP)]
AsOfOption = Annotated[str | None, typer.Option("--as-of", help=AS_OF_HELP)]


def zone_caption(tz: tzinfo) -> str:
    return f"times in {tz}"


def roster(
    section: Annotated[str, typer.Argument(help=SECTION_HELP)],
    program: ProgramOption = None,
    as_of: AsOfOption = None,
    verb: Annotated[list[str] | None, typer.Option("--verb", help="Verbs to list (default Enrolled).")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The students holding a verb (default Enrolled) on a section, by key, with names."""
    address = section_address(section, program)
    verbs = verb or [ENROLLED]
    when = parse_when(as_of)
    with services() as built:
        reads = built.views
        view = section_named(reads, address)
        owner = program_named(reads, view.program_id)
        at = local_when(when, owner.timezone)
        held = [(v, s) for v in verbs for s in reads.students(view.section_id, [v], as_of=at)]
        students = reads.student_views(s for _, s in held)
        # Counted as of the same instant as the rows, not now.
        enrolled = len(reads.students(view.section_id, [ENROLLED], as_of=at))
    held.sort(key=lambda vs: (_key_of(students, vs[1]), vs[0]))
    rows = [(n, _key_of(students, sid), _name_of(students, sid), v, sid) for n, (v, sid) in enumerate(held, start=1)]
    if at is None:
        caption = f"{enrolled}/{view.capacity} enrolled"
    else:
        caption = f"{enrolled} enrolled as of {at.astimezone(zone(owner)).isoformat()} (capacity now {view.capacity})"
    listing = Listing(
        f"Roster of {view.code} {view.class_title} ({', '.join(verbs)})",
        cols("n:#", "key:student", "name", Column("verb", in_table=len(verbs) > 1), Column("student_id", "id", False)),
        rows,
        caption=caption,
        items="students",
        about={"section": _section_about(view), "verbs": verbs, "as_of": at, "enrolled": enrolled},
        zone=zone(owner),
    )
    emit(listing, fmt)


def queue(
    section: Annotated[str, typer.Argument(help=SECTION_HELP)],
    program: ProgramOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A section's waitlist in queue order: who, since when, and why anyone was passed over."""
    address = section_address(section, program)
    with services() as built:
        reads = built.views
        view = section_named(reads, address)
        owner = program_named(reads, view.program_id)
        places = reads.waitlist_places(view.section_id)
        students = reads.student_views(p.student_id for p in places)
    rows = [
        (
            n,
            _key_of(students, p.student_id),
            _name_of(students, p.student_id),
            p.since,
            p.passed_over_code,
            p.passed_over_message,
            p.student_id,
        )
        for n, p in enumerate(places, start=1)
    ]
    listing = Listing(
        f"Waitlist of {view.code} {view.class_title}",
        cols(
            "place:#",
            "key:student",
            "name",
            "since",
            "passed_over:passed over",
            Column("passed_over_message", "why", False),
            Column("student_id", "id", False),
        ),
        rows,
        caption=f"{len(rows)} waiting; {view.enrolled}/{view.capacity} enrolled",
        items="places",
        about={"section": _section_about(view)},
        zone=zone(owner),
    )
    emit(listing, fmt)


def _key_of(students: Mapping[UUID, StudentView], sid: UUID) -> str:
    found = students.get(sid)
    return found.key if found else str(sid)


def _name_of(students: Mapping[UUID, StudentView], sid: UUID) -> str | None:
    found = students.get(sid)
    return found.name if found else None


def _section_about(view: SectionView) -> dict[str, object]:
    return {
        "section_id": view.section_id,
        "code": view.code,
        "class_code": view.class_code,
        "class_title": view.class_title,
        "section_number": view.index,
        "capacity": view.capacity,
    }


def slot_times(view: SectionView | None, tz: tzinfo) -> list[str]:
    """`Sat 9:00: 2026-11-21 09:00-09:50` per timeslot, in the program's zone."""
    if view is None:
        return []
    return [
        f"{t.label}: {t.starts.astimezone(tz):%Y-%m-%d %H:%M}-{t.ends.astimezone(tz):%H:%M}" for t in view.timeslots
    ]


SCHEDULE_COLUMNS = cols(
    "section_code:section",
    "class_title:class",
    "verb",
    Column("times", "timeslots", in_data=False),
    "since",
    Column("class_code", in_table=False),
    Column("section_number", in_table=False),
    Column("timeslots", in_table=False),
    Column("starts", in_table=False),
    Column("ends", in_table=False),
    Column("section_id", in_table=False),
    Column("subject_id", in_table=False),
)


def schedule(
    student: Annotated[str, typer.Argument(help="The student: SLUG/KEY (or SLUG, then KEY).")],
    key: Annotated[str | None, typer.Argument(help="The student's key, when STUDENT is the slug alone.")] = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A student's registrations in a program: class code and title, section, timeslots and times."""
    address = student_address(f"{student}/{key}" if key is not None else student)
    when = parse_when(as_of)
    with services() as built:
        reads = built.views
        owner = program_named(reads, address.slug)
        student_named(reads, address)
        at = local_when(when, owner.timezone)
        entries = reads.sections(address.student_id, owner.program_id, None, as_of=at)
        sections = reads.sections_by_id(e.section_id for e in entries)
    tz = zone(owner)
    rows = []
    for e in entries:
        view = sections.get(e.section_id)
        slots = view.timeslots if view else ()
        rows.append(
            (
                view.code if view else str(e.section_id),
                view.class_title if view else None,
                e.verb,
                slot_times(view, tz),
                e.since,
                view.class_code if view else None,
                view.index if view else None,
                [t.label for t in slots],
                [t.starts for t in slots],
                [t.ends for t in slots],
                e.section_id,
                e.subject_id,
            )
        )
    listing = Listing(
        f"Schedule of {address.key} in {address.slug}",
        SCHEDULE_COLUMNS,
        rows,
        caption=zone_caption(tz),
        items="registrations",
        about={"program": address.slug, "student_key": address.key, "student_id": address.student_id, "as_of": at},
        zone=tz,
    )
    emit(listing, fmt)


def _started(i: Interval) -> str:
    run = f" (run {str(i.lottery_run_id)[:8]})" if i.lottery_run_id else ""
    return "\n".join(part for part in (f"{i.cause}{run}", f"by {i.actor}", _quoted(i.reason)) if part)


def _ended(i: Interval) -> str:
    if i.end_cause is None:
        return ""
    return "\n".join(part for part in (i.end_cause, f"by {i.end_actor}", _quoted(i.end_reason)) if part)


def _quoted(reason: str | None) -> str:
    return f"\u201c{reason}\u201d" if reason else ""


def _history_columns(of_student: bool) -> list[Column]:
    return cols(
        "n:#",
        "from",
        "to",
        Column("student_key", "student", in_table=not of_student),
        Column("section_code", "section", in_table=of_student),
        Column("class_title", "class", in_table=False),
        "verb",
        Column("started", in_data=False),
        Column("ended", in_data=False),
        Column("cause", in_table=False),
        Column("actor", in_table=False),
        Column("reason", in_table=False),
        Column("lottery_run_id", in_table=False),
        Column("end_cause", in_table=False),
        Column("end_actor", in_table=False),
        Column("end_reason", in_table=False),
        Column("student_id", in_table=False),
        Column("section_id", in_table=False),
        Column("command_id", in_table=False),
        Column("end_command_id", in_table=False),
    )


def history(
    student: Annotated[str | None, typer.Option("--student", help="SLUG/KEY: one student's history.")] = None,
    section: Annotated[str | None, typer.Option("--section", help=f"{SECTION_HELP} Its history.")] = None,
    program: ProgramOption = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help=f"Only intervals started by then. {AS_OF_HELP}")] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Every registration interval of a student or a section, in time order, with how it began and ended.

    Each start and end shows its cause, actor and reason; times are in the program's timezone."""
    if (student is None) == (section is None):
        raise typer.BadParameter("give exactly one of --student SLUG/KEY or --section SECTION")
    when = parse_when(as_of)
    with services() as built:
        reads = built.views
        if student is not None:
            who = student_address(student)
            owner = program_named(reads, who.slug)
            student_named(reads, who)
            intervals = reads.history(student_id=who.student_id)
            title, about = f"History of {who.key} in {who.slug}", {"student": str(who), "student_id": who.student_id}
        else:
            view = section_named(reads, section_address(section or "", program))
            owner = program_named(reads, view.program_id)
            intervals = reads.history(section_id=view.section_id)
            title, about = f"History of {view.code} {view.class_title}", {"section": _section_about(view)}
        at = local_when(when, owner.timezone)
        if at is not None:
            intervals = [i for i in intervals if i.valid_from <= at]
        students = reads.student_views({i.student_id for i in intervals})
        sections = reads.sections_by_id({i.section_id for i in intervals})
    tz = zone(owner)
    rows = [_history_row(n, i, students, sections) for n, i in enumerate(intervals, start=1)]
    listing = Listing(
        title,
        _history_columns(of_student=student is not None),
        rows,
        caption=zone_caption(tz),
        items="intervals",
        about={**about, "program": owner.slug, "as_of": at},
        zone=tz,
    )
    emit(listing, fmt)


def _history_row(
    n: int, i: Interval, students: Mapping[UUID, StudentView], sections: Mapping[UUID, SectionView]
) -> tuple[object, ...]:
    view = sections.get(i.section_id)
    return (
        n,
        i.valid_from,
        i.valid_to,
        _key_of(students, i.student_id),
        view.code if view else str(i.section_id),
        view.class_title if view else None,
        i.verb,
        _started(i),
        _ended(i),
        i.cause,
        i.actor,
        i.reason,
        i.lottery_run_id,
        i.end_cause,
        i.end_actor,
        i.end_reason,
        i.student_id,
        i.section_id,
        i.command_id,
        i.end_command_id,
    )


def types(
    category: str = typer.Option("student", "--category", help="The registration type category."),
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The registration types (verbs) of a category."""
    with services(catch_up=False) as built:
        found = built.app.get_map((), category)
    rows = [(t.name, t.display_name, t.description) for _, t in sorted(found.items())]
    listing = Listing(
        f"Registration types ({category})",
        cols("name", "display_name:display name", "description"),
        rows,
        items="types",
        about={"category": category},
    )
    emit(listing, fmt)
