"""A program's people: `students` (by key, with names and grades) and `stars` (a student's
classes of interest with their history), from the views; a table, JSON or CSV."""

from __future__ import annotations

from typing import Annotated

import typer

from regledger.adapters.cli_address import student_address
from regledger.adapters.cli_catalogue import LimitOption, SlugArgument, paged
from regledger.adapters.cli_common import services
from regledger.adapters.cli_lookup import program_named, student_named, zone
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit
from regledger.adapters.cli_queries import zone_caption
from regledger.domain.program import grade_in


def students(
    slug: SlugArgument,
    search: Annotated[str | None, typer.Option("--search", help="A key or name prefix (any case).")] = None,
    after: Annotated[str | None, typer.Option("--after", help="The next page: after this key.")] = None,
    limit: LimitOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A program's students by key, with names, grades and e-mail."""
    with services() as built:
        program = program_named(built.views, slug)
        found = built.views.program_students(program.program_id, search=search, after=after, limit=limit)
    tz = zone(program)

    def grade(year: int | None) -> int | None:
        return None if year is None else grade_in(program.school_year, year)

    rows = [
        (
            s.key,
            s.name,
            grade(s.graduation_year),
            s.graduation_year,
            s.email,
            s.registered_at,
            s.checked_in_at,
            s.student_id,
        )
        for s in found
    ]
    columns = cols(
        "key",
        "name",
        "grade",
        Column("graduation_year", in_table=False),
        "email",
        Column("registered_at", in_table=False),
        "checked_in_at:checked in",
        Column("student_id", "id", in_table=False),
    )
    listing = Listing(
        f"Students of {program.slug}" + (f" matching {search!r}" if search else ""),
        columns,
        rows,
        items="students",
        about={"program": program.slug, "search": search},
        zone=tz,
    )
    emit(paged(listing, [s.key for s in found], limit), fmt)


def stars(
    student: Annotated[str, typer.Argument(help="The student: SLUG/KEY.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A student's stars (classes of interest), each with when and by whom it was set and removed."""
    who = student_address(student)
    with services() as built:
        program = program_named(built.views, who.slug)
        student_named(built.views, who)
        history = built.views.star_history(who.student_id)
        names = {c.subject_id: c for c in built.views.classes(program.program_id)} if history else {}
    tz = zone(program)
    rows = []
    for s in history:
        found = names.get(s.subject_id)
        rows.append(
            (
                found.code if found else str(s.subject_id),
                found.title if found else None,
                s.valid_from,
                s.actor,
                s.valid_to,
                s.end_actor,
                s.valid_to is None,
                s.subject_id,
            )
        )
    now = sum(1 for s in history if s.valid_to is None)
    columns = cols(
        "class_code:class",
        "class_title:title",
        "starred",
        "actor:by",
        "unstarred",
        "end_actor:by",
        Column("current", in_table=False),
        Column("subject_id", in_table=False),
    )
    listing = Listing(
        f"Stars of {who.key} in {who.slug}",
        columns,
        rows,
        caption=f"{now} starred now; {zone_caption(tz)}",
        items="stars",
        about={"program": who.slug, "student_key": who.key, "student_id": who.student_id, "starred_now": now},
        zone=tz,
    )
    emit(listing, fmt)
