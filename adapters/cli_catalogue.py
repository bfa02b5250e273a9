"""Catalogue reads: `programs`, `program show`, `classes`, `sections`, `section show`. Every
answer comes from the views' catalogue; each prints a table, JSON or CSV.

Long lists are paged: `--limit N` and, for the next page, `--after` the last code shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import tzinfo
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer

from regledger.adapters.cli_address import PROGRAM_OPTION_HELP, SECTION_HELP, section_address
from regledger.adapters.cli_common import services
from regledger.adapters.cli_lookup import program_named, section_named, zone
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit, emit_parts
from regledger.adapters.cli_queries import slot_times, zone_caption
from regledger.projections.catalogue import CatalogueFilter, CatalogueViews, ProgramView, SectionView

T = TypeVar("T")
SlugArgument = Annotated[str, typer.Argument(help="The program's slug.")]
TimeslotOption = Annotated[str | None, typer.Option("--timeslot", help="Only sections meeting in this timeslot.")]
CategoryOption = Annotated[str | None, typer.Option("--category", help="Only classes of this category.")]
GradeOption = Annotated[int | None, typer.Option("--grade", help="Only classes open to this grade.")]
FreeOption = Annotated[bool, typer.Option("--free", help="Only sections with a free seat.")]
AfterOption = Annotated[str | None, typer.Option("--after", help="The next page: after this code (or key).")]
LimitOption = Annotated[int | None, typer.Option("--limit", min=1, help="At most this many rows.")]


def paged(listing: Listing, shown: list[str], limit: int | None) -> Listing:
    """Say where the next page starts when a page came back full."""
    if limit is None or len(shown) < limit:
        return listing
    hint = f"more may follow: --after {shown[-1]}"
    caption = f"{listing.caption}; {hint}" if listing.caption else hint
    about = {**listing.about, "next_after": shown[-1]}
    return replace(listing, caption=caption, about=about)


def programs(fmt: FormatOption = OutputFormat.table) -> None:
    """Every program, by slug."""
    with services() as built:
        found = built.views.programs()
    rows = [(p.slug, p.title, p.school_year, f"{p.grade_min}-{p.grade_max}", p.timezone, p.program_id) for p in found]
    columns = cols("slug", "title", "school_year:school year", "grades", "timezone", Column("program_id", "id", False))
    emit(Listing("Programs", columns, rows, items="programs"), fmt)


def program_show(slug: SlugArgument, fmt: FormatOption = OutputFormat.table) -> None:
    """A program: its settings, registration windows and timeslots (with the lunch flag)."""
    with services() as built:
        program = program_named(built.views, slug)
        slots = built.views.timeslots(program.program_id)
    tz = zone(program)
    record = Listing(
        f"Program {program.slug}: {program.title}",
        cols("slug", "title", "program_id", "grade_min", "grade_max", "school_year", "timezone", "created_at"),
        [
            (
                program.slug,
                program.title,
                program.program_id,
                program.grade_min,
                program.grade_max,
                program.school_year,
                program.timezone,
                program.created_at,
            )
        ],
        items="program",
        zone=tz,
        single=True,
    )
    settings = Listing("Settings", cols("name", "value"), sorted(program.settings.items()), items="settings", zone=tz)
    windows = Listing(
        "Registration windows",
        cols("kind", "opens", "closes"),
        [(w.kind, w.opens, w.closes) for w in program.windows],
        caption=f"{zone_caption(tz)}; an end not set is open",
        items="windows",
        zone=tz,
    )
    timeslots = Listing(
        "Timeslots",
        cols("label", "starts", "ends", "has_lunch:lunch", Column("timeslot_id", "id", in_table=False)),
        [(t.label, t.starts, t.ends, t.has_lunch, t.timeslot_id) for t in slots],
        caption=zone_caption(tz),
        items="timeslots",
        zone=tz,
    )
    parts = [record, settings, windows, timeslots]
    document = {
        **record.records()[0],
        "settings": dict(sorted(program.settings.items())),
        "windows": windows.records(),
        "timeslots": timeslots.records(),
    }
    emit_parts(parts, fmt, document)


def _timeslot_id(reads: CatalogueViews, program: ProgramView, timeslot: str | None) -> UUID | None:
    """A `--timeslot` by label (or id) in the program; None when not given."""
    if timeslot is None:
        return None
    known = {t.label: t.timeslot_id for t in reads.timeslots(program.program_id)}
    slot_id = known.get(timeslot) or next((t for t in known.values() if str(t) == timeslot), None)
    if slot_id is None:
        names = ", ".join(map(repr, known)) or "none yet"
        raise typer.BadParameter(f"no timeslot {timeslot!r} in {program.slug} (timeslots: {names})")
    return slot_id


def _found(
    slug: str,
    read: Callable[[CatalogueViews, UUID, CatalogueFilter], list[T]],
    timeslot: str | None,
    category: str | None,
    grade: int | None,
    free: bool,
    after: str | None,
    limit: int | None,
) -> tuple[ProgramView, list[T]]:
    """The program and what `read` finds in it through the filter options."""
    with services() as built:
        reads = built.views
        program = program_named(reads, slug)
        where = CatalogueFilter(
            timeslot_id=_timeslot_id(reads, program, timeslot),
            category=category,
            grade=grade,
            has_free=True if free else None,
            after=after,
            limit=limit,
        )
        return program, read(reads, program.program_id, where)


def classes(
    slug: SlugArgument,
    timeslot: TimeslotOption = None,
    category: CategoryOption = None,
    grade: GradeOption = None,
    free: FreeOption = False,
    after: AfterOption = None,
    limit: LimitOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A program's classes by code, with their sections and seats (filters narrow the sections)."""
    program, found = _found(slug, lambda v, p, w: v.classes(p, w), timeslot, category, grade, free, after, limit)
    rows = [
        (
            c.code,
            c.title,
            c.category,
            f"{c.grade_min}-{c.grade_max}",
            _seats(sum(s.enrolled for s in c.sections), sum(s.capacity for s in c.sections)),
            c.grade_min,
            c.grade_max,
            c.status,
            c.class_size_max,
            [s.code for s in c.sections],
            sum(s.capacity for s in c.sections),
            sum(s.enrolled for s in c.sections),
            sum(s.free for s in c.sections),
            c.is_lunch,
            c.subject_id,
        )
        for c in found
    ]
    columns = cols(
        "code",
        "title",
        Column("category", in_table=False),
        Column("grades", in_data=False),
        Column("seats", in_data=False),
        Column("grade_min", in_table=False),
        Column("grade_max", in_table=False),
        "status",
        Column("class_size_max", "size", in_table=False),
        "sections",
        Column("capacity", in_table=False),
        Column("enrolled", in_table=False),
        "free",
        Column("is_lunch", in_table=False),
        Column("subject_id", "id", in_table=False),
    )
    listing = Listing(f"Classes of {program.slug}", columns, rows, items="classes", about={"program": program.slug})
    emit(paged(listing, [c.code for c in found], limit), fmt)


SECTION_COLUMNS = cols(
    "code",
    "class_title:class",
    Column("category", in_table=False),
    Column("times", "timeslots", in_data=False),
    Column("timeslots", in_table=False),
    Column("seats", in_data=False),
    Column("capacity", in_table=False),
    Column("enrolled", in_table=False),
    "free",
    "waitlisted:waiting",
    Column("state", in_data=False),
    Column("is_open", in_table=False),
    Column("is_cancelled", in_table=False),
    Column("room_capacity", in_table=False),
    Column("max_class_capacity", in_table=False),
    Column("class_code", in_table=False),
    Column("section_number", in_table=False),
    Column("section_id", "id", in_table=False),
)


def _seats(enrolled: int, capacity: int) -> str:
    return f"{enrolled}/{capacity}"


def _state(view: SectionView) -> str:
    return "cancelled" if view.is_cancelled else "open" if view.is_open else "closed"


def _section_row(view: SectionView, tz: tzinfo) -> tuple[Any, ...]:
    return (
        view.code,
        view.class_title,
        view.category,
        slot_times(view, tz),
        [t.label for t in view.timeslots],
        _seats(view.enrolled, view.capacity),
        view.capacity,
        view.enrolled,
        view.free,
        view.waitlisted,
        _state(view),
        view.is_open,
        view.is_cancelled,
        view.room_capacity,
        view.max_class_capacity,
        view.class_code,
        view.index,
        view.section_id,
    )


def sections(
    slug: SlugArgument,
    timeslot: TimeslotOption = None,
    category: CategoryOption = None,
    grade: GradeOption = None,
    free: FreeOption = False,
    after: AfterOption = None,
    limit: LimitOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A program's sections by code: timeslots, capacity, enrolled, free seats, waitlist."""
    program, found = _found(slug, lambda v, p, w: v.section_views(p, w), timeslot, category, grade, free, after, limit)
    tz = zone(program)
    listing = Listing(
        f"Sections of {program.slug}",
        SECTION_COLUMNS,
        [_section_row(v, tz) for v in found],
        caption=zone_caption(tz),
        items="sections",
        about={"program": program.slug},
        zone=tz,
    )
    emit(paged(listing, [v.code for v in found], limit), fmt)


def section_show(
    section: Annotated[str, typer.Argument(help=SECTION_HELP)],
    program: Annotated[str | None, typer.Option("--program", help=PROGRAM_OPTION_HELP)] = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A section: its class, timeslots, capacities, enrolled, free seats and waitlist length."""
    address = section_address(section, program)
    with services() as built:
        view = section_named(built.views, address)
        owner = program_named(built.views, view.program_id)
    tz = zone(owner)
    columns = cols(
        "code",
        "class_code:class code",
        "class_title:class",
        "category",
        "class_status:class status",
        Column("grades", in_data=False),
        Column("grade_min", in_table=False),
        Column("grade_max", in_table=False),
        Column("times", "timeslots", in_data=False),
        Column("timeslots", in_table=False),
        "room_capacity:room capacity",
        "max_class_capacity:max capacity",
        "capacity",
        "enrolled",
        "free",
        "waitlisted:waitlist",
        "is_open:open",
        "is_cancelled:cancelled",
        "section_id:id",
        Column("subject_id", in_table=False),
        Column("program", in_table=False),
    )
    row = (
        view.code,
        view.class_code,
        view.class_title,
        view.category,
        view.class_status,
        f"{view.grade_min}-{view.grade_max}",
        view.grade_min,
        view.grade_max,
        slot_times(view, tz),
        [t.label for t in view.timeslots],
        view.room_capacity,
        view.max_class_capacity,
        view.capacity,
        view.enrolled,
        view.free,
        view.waitlisted,
        view.is_open,
        view.is_cancelled,
        view.section_id,
        view.subject_id,
        owner.slug,
    )
    title = f"Section {view.code}: {view.class_title}"
    emit(Listing(title, columns, [row], caption=zone_caption(tz), zone=tz, single=True), fmt)
