"""`regledger import catalogue|students FILE --program SLUG [--dry-run]` (formats: docs/importing.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from regledger.adapters.cli_common import REFUSED_EXIT, admin_context, console, err_console, refused, services, table
from regledger.adapters.import_text import Format, detect_format, read_file
from regledger.adapters.importing import read_catalogue, read_students
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import program_id
from regledger.domain.imports import ImportResult

T = TypeVar("T")
SHOWN_CREATED = 30  # a first import creates hundreds of things: list them only when few

import_cli = typer.Typer(
    no_args_is_help=True,
    help="Bulk import from CSV or JSON: a catalogue (timeslots, classes, sections) or students. "
    "Every row is checked first; nothing is written if any row is invalid.",
)


class FileFormat(StrEnum):
    csv = "csv"
    json = "json"


ImportFile = Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="A .csv or .json file.")]
ProgramOption = Annotated[str, typer.Option("--program", help="The program's slug.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Check and show the plan; write nothing.")]
FormatOption = Annotated[
    FileFormat | None, typer.Option("--format", case_sensitive=False, help="Default: by extension, else by content.")
]
KeyOption = Annotated[
    str | None,
    typer.Option("--idempotency-key", help="The command id: the same key again replays and writes nothing."),
]
ReasonOption = Annotated[str, typer.Option("--reason", help="Recorded on every event.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]


def _format(path: Path, data: bytes, given: FileFormat | None) -> Format:
    return "json" if given is FileFormat.json else "csv" if given is FileFormat.csv else detect_format(path.name, data)


def _refusable(call: Callable[[], T]) -> T:
    """A refusal exits 2; an import's errors are printed one a line, each with its line number."""
    try:
        return call()
    except RegistrationError as error:
        errors = error.detail.get("errors")
        if not isinstance(errors, list):
            raise refused(error) from None
        err_console.print(f"[red]refused {error.code}:[/red] {error.message.partition(' First:')[0]}", highlight=False)
        for e in errors:
            where = f"line {e['line']}" if e.get("line") is not None else "file"
            field = f" {e['field']}:" if e.get("field") else ""
            err_console.print(f"  {where}:{field} {e['message']}", highlight=False, soft_wrap=True)
        raise typer.Exit(REFUSED_EXIT) from None


@import_cli.command("catalogue")
def catalogue(
    file: ImportFile,
    program: ProgramOption,
    timeslots: Annotated[
        Path | None,
        typer.Option("--timeslots", exists=True, dir_okay=False, readable=True, help="A CSV of label,start,end."),
    ] = None,
    dry_run: DryRunOption = False,
    file_format: FormatOption = None,
    idempotency_key: KeyOption = None,
    reason: ReasonOption = "",
    as_json: JsonOption = False,
) -> None:
    """Create or change a program's timeslots, classes and sections (one atomic save).

    A changed row becomes the change events only; the same file twice changes nothing. Sections
    a class has but the file does not list are left as they are."""
    data = _refusable(lambda: read_file(file))
    extra = _refusable(lambda: read_file(timeslots)) if timeslots is not None else None
    entries = _refusable(lambda: read_catalogue(data, _format(file, data, file_format), extra))
    ctx = admin_context(reason, idempotency_key)
    _import(file, lambda app: app.import_catalogue(program_id(program), entries, ctx, dry_run=dry_run), as_json)


@import_cli.command("students")
def students(
    file: ImportFile,
    program: ProgramOption,
    dry_run: DryRunOption = False,
    file_format: FormatOption = None,
    idempotency_key: KeyOption = None,
    reason: ReasonOption = "",
    as_json: JsonOption = False,
) -> None:
    """Register a program's students and submit their profiles (one atomic save).

    Columns key,name,graduation_year[,email]; a known student changes only if its row differs."""
    data = _refusable(lambda: read_file(file))
    entries = _refusable(lambda: read_students(data, _format(file, data, file_format)))
    ctx = admin_context(reason, idempotency_key)
    _import(file, lambda app: app.import_students(program_id(program), entries, ctx, dry_run=dry_run), as_json)


def _import(file: Path, run: Callable[[Registration], ImportResult], as_json: bool) -> None:
    """Run the import, with a status line while it saves, and print its result."""
    with services(catch_up=False) as built, console.status(f"importing {file.name}..."):
        result = _refusable(lambda: run(built.app))
    print_result(result, as_json=as_json)


def print_result(result: ImportResult, *, as_json: bool = False) -> None:
    """The counts per kind, what changes (and what is created, when few), warnings and notes."""
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
        return
    rows = [(kind, c["created"], c["changed"], c["unchanged"]) for kind, c in result.counts.items()]
    out = table(_headline(result), ["", "created", "changed", "unchanged"], rows)
    console.print(out)
    shown = [c for c in result.changes if c.action == "changed" or result.created <= SHOWN_CREATED]
    if shown:
        lines = [(c.kind, c.name, c.action, ", ".join(c.fields), c.line) for c in shown]
        console.print(table("Changes", ["", "name", "action", "fields", "line"], lines))
    for warning in result.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}", highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"note: {note}", highlight=False, soft_wrap=True)


def _headline(result: ImportResult) -> str:
    if result.replayed:
        return f"Already imported with this key (command {result.command_id}): nothing written"
    if result.dry_run:
        return "Dry run: the plan (nothing written)"
    if not result.created and not result.changed:
        return "Nothing to change: the program already matches the file"
    return f"Imported at log position {result.position}"
