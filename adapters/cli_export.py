"""`regledger export catalogue --program SLUG --format csv|json`: the import's own formats."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from regledger.adapters.cli_common import err_console, run_refusable, services
from regledger.adapters.exporting import catalogue_csv, catalogue_from_views, catalogue_json, timeslots_csv
from regledger.domain.catalogue_entries import Catalogue
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import program_id

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
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {len(entries.classes)} classes to {output}", highlight=False)
