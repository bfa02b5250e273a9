"""Read-only CLI commands over the views: roster, schedule, history, registration types."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated
from uuid import UUID

import typer

from regledger.adapters.cli_common import (
    console,
    parse_instant,
    parse_uuid,
    run_refusable,
    services,
    short,
    table,
)
from regledger.domain.application import Registration
from regledger.domain.ids import program_id, student_id
from regledger.domain.student import Student
from regledger.domain.subject import Subject
from regledger.domain.values import ENROLLED
from regledger.projections.views import Interval

AS_OF_HELP = "Answer as of this ISO 8601 instant with a timezone (default: now)."


def student_keys(app: Registration, ids: Iterable[UUID]) -> dict[UUID, str]:
    """Student ids -> their keys (from the Student aggregates)."""
    keys: dict[UUID, str] = {}
    for sid in ids:
        if sid not in keys:
            student = app.find(Student, sid)
            keys[sid] = student.student_key if student is not None else str(sid)
    return keys


def subject_titles(app: Registration, ids: Iterable[UUID]) -> dict[UUID, str]:
    titles: dict[UUID, str] = {}
    for sid in ids:
        if sid not in titles:
            subject = app.find(Subject, sid)
            titles[sid] = f"{subject.code} {subject.title}" if subject is not None else str(sid)
    return titles


def roster(
    section: str = typer.Argument(..., help="The section id (UUID)."),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
    verb: Annotated[list[str] | None, typer.Option("--verb", help="Verbs to list (default Enrolled).")] = None,
) -> None:
    """The students holding a verb (default Enrolled) on a section."""
    section_id = parse_uuid(section, "SECTION")
    verb = verb or [ENROLLED]
    when = parse_instant(as_of)
    with services() as built:
        loaded = run_refusable(lambda: built.app.load_section(section_id))  # type: ignore[arg-type]
        title = subject_titles(built.app, [loaded.subject_id])[loaded.subject_id]
        ids = built.views.students(section_id, verb, as_of=when)
        keys = student_keys(built.app, ids)
        counts = built.views.verb_counts(section_id)
        caption = f"{counts.get(ENROLLED, 0)}/{loaded.capacity} enrolled" + (f" as of {as_of}" if as_of else "")
        rows = [(n, keys[sid], sid) for n, sid in enumerate(sorted(ids, key=lambda s: keys[s]), start=1)]
        out = table(f"Roster of {title}, section {loaded.index} ({', '.join(verb)})", ["#", "student", "id"], rows)
        out.caption = caption
        console.print(out)


def schedule(
    program: str = typer.Argument(..., help="The program's slug."),
    student: str = typer.Argument(..., help="The student's key."),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """A student's registrations in a program, with their timeslots."""
    when = parse_instant(as_of)
    pid = program_id(program)
    with services() as built:
        loaded = run_refusable(lambda: built.app.load_program(pid))
        entries = built.views.sections(student_id(pid, student), pid, None, as_of=when)
        titles = subject_titles(built.app, [e.subject_id for e in entries])
        slots = loaded.timeslots
        rows = [
            (
                titles[e.subject_id],
                e.verb,
                ", ".join(slots[t].label if t in slots else str(t) for t in e.timeslot_ids),  # type: ignore[index]
                short(e.since),
                e.section_id,
            )
            for e in entries
        ]
        console.print(
            table(f"Schedule of {student} in {program}", ["class", "verb", "timeslots", "since", "section"], rows)
        )


def _history_rows(app: Registration, intervals: list[Interval]) -> list[tuple[object, ...]]:
    keys = student_keys(app, [i.student_id for i in intervals])
    titles = subject_titles(app, [i.subject_id for i in intervals])
    return [
        (
            n,
            short(i.valid_from),
            short(i.valid_to),
            keys[i.student_id],
            titles[i.subject_id],
            i.verb,
            i.cause + (f" (run {str(i.lottery_run_id)[:8]})" if i.lottery_run_id else ""),
            i.actor,
            "" if i.end_cause is None else f"{i.end_cause} by {i.end_actor}",
        )
        for n, i in enumerate(intervals, start=1)
    ]


HISTORY_COLUMNS = ["#", "from", "to", "student", "class", "verb", "cause", "actor", "ended"]


def history(
    student: str | None = typer.Option(None, "--student", help="PROGRAM/KEY: one student's history."),
    section: str | None = typer.Option(None, "--section", help="A section id: its history."),
    as_of: str | None = typer.Option(None, "--as-of", help="Only intervals that had started by then."),
) -> None:
    """Every registration interval of a student or a section, in time order, with cause and actor."""
    if (student is None) == (section is None):
        raise typer.BadParameter("give exactly one of --student PROGRAM/KEY or --section ID")
    when = parse_instant(as_of)
    with services() as built:
        if student is not None:
            slug, slash, key = student.partition("/")
            if not slash or not key:
                raise typer.BadParameter("--student is PROGRAM/KEY (the program's slug, a slash, the key)")
            pid = program_id(slug)
            run_refusable(lambda: built.app.load_program(pid))
            intervals = built.views.history(student_id=student_id(pid, key))
            title = f"History of {key} in {slug}"
        else:
            assert section is not None
            section_id = parse_uuid(section, "--section")
            run_refusable(lambda: built.app.load_section(section_id))  # type: ignore[arg-type]
            intervals = built.views.history(section_id=section_id)
            title = f"History of section {section_id}"
        if when is not None:
            intervals = [i for i in intervals if i.valid_from <= when]
        console.print(table(title, HISTORY_COLUMNS, _history_rows(built.app, intervals)))


def types(category: str = typer.Option("student", "--category", help="The registration type category.")) -> None:
    """The registration types (verbs) of a category."""
    with services(catch_up=False) as built:
        found = built.app.get_map((), category)
        rows = [(t.name, t.display_name, t.description) for _, t in sorted(found.items())]
        console.print(table(f"Registration types ({category})", ["name", "display name", "description"], rows))
