"""`regledger export catalogue|students|rosters --program SLUG --format csv|json`: the
catalogue and students in the import's own formats, rosters for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from regledger.adapters.cli_common import err_console, run_refusable, services
from regledger.adapters.exporting import catalogue_csv, catalogue_from_views, catalogue_json, timeslots_csv
from regledger.adapters.importing import STUDENT_COLUMNS
from regledger.domain.catalogue_entries import Catalogue
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import program_id
from regledger.domain.values import ENROLLED

ROSTER_COLUMNS = ("section_code", "class_title", "timeslots", "key", "name", "verb", "since")

export_cli = typer.Typer(
    no_args_is_help=True,
    help="Export in the import formats: what `regledger import` reads back without a change.",
)


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"


@export_cli.command("catalogue")
def catalogue(
    program: Annotated[str, typer.Option("--program", help="The program's slug.")],
    export_format: Annotated[ExportFormat, typer.Option("--format", case_sensitive=False)] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = None,
    timeslots: Annotated[
        Path | None, typer.Option("--timeslots", help="CSV only: also write the timeslots (label,start,end) here.")
    ] = None,
) -> None:
    """The program's timeslots, classes and sections, read from the views.

    CSV holds classes and sections (write the timeslots with --timeslots); JSON holds all."""
    with services() as built:
        views = built.views

        def read() -> Catalogue:
            found = views.program(program_id(program))
            if found is None:
                raise NotFoundError("No such program", slug=program)
            return catalogue_from_views(views, found)

        entries = run_refusable(read)
    if export_format is ExportFormat.json:
        text = catalogue_json(entries)
    else:
        text = run_refusable(lambda: catalogue_csv(entries))
        if timeslots is not None:
            timeslots.write_text(timeslots_csv(entries), encoding="utf-8")
    _write(text, output, f"{len(entries.classes)} classes")


def _write(text: str, output: Path | None, what: str) -> None:
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {what} to {output}", highlight=False)


@export_cli.command("students")
def students(
    program: Annotated[str, typer.Option("--program", help="The program's slug.")],
    export_format: Annotated[ExportFormat, typer.Option("--format", case_sensitive=False)] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = None,
) -> None:
    """The program's students (key, name, graduation year, e-mail), as `import students` reads
    them; students without a profile have empty names."""
    with services() as built:
        found = built.views.program_students(program_id(program))
    records = [{"key": s.key, "name": s.name, "graduation_year": s.graduation_year, "email": s.email} for s in found]
    if export_format is ExportFormat.json:
        text = json.dumps({"students": records}, indent=2) + "\n"
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(STUDENT_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in records)
        text = out.getvalue()
    _write(text, output, f"{len(records)} students")


@export_cli.command("rosters")
def rosters(
    program: Annotated[str, typer.Option("--program", help="The program's slug.")],
    verb: Annotated[list[str] | None, typer.Option("--verb", help="Verbs to list (default Enrolled).")] = None,
    export_format: Annotated[ExportFormat, typer.Option("--format", case_sensitive=False)] = ExportFormat.csv,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).")] = None,
) -> None:
    """Every section's roster of the program, one row per registration, by section code and
    student key (what a registrar prints or loads into a spreadsheet on the day)."""
    with services() as built:
        views = built.views
        held = views.current_registrations(program_id(program), verbs=list(dict.fromkeys(verb or [ENROLLED])))
        people = views.student_views({r.student_id for r in held})
        sections = views.sections_by_id({r.section_id for r in held})
    records = []
    for r in held:
        section, student = sections.get(r.section_id), people.get(r.student_id)
        records.append(
            {
                "section_code": section.code if section else str(r.section_id),
                "class_title": section.class_title if section else "",
                "timeslots": " ".join(t.label for t in section.timeslots) if section else "",
                "key": student.key if student else str(r.student_id),
                "name": (student.name if student else None) or "",
                "verb": r.verb,
                "since": r.since.isoformat(),
            }
        )
    records.sort(key=lambda r: (r["section_code"], r["key"], r["verb"]))
    if export_format is ExportFormat.json:
        text = json.dumps({"program": program, "rows": records}, indent=2) + "\n"
    else:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(ROSTER_COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        text = out.getvalue()
    _write(text, output, f"{len(records)} registrations")
