"""Day-of CLI commands: `regledger batch-enroll SECTION` seats a list of students, each on their
own (`domain/batch_commands.py`), and prints what became of each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from regledger.adapters.cli_address import PROGRAM_OPTION_HELP, SECTION_HELP, section_address
from regledger.adapters.cli_common import IdempotencyKeyOption, admin_context, run_refusable, services
from regledger.adapters.cli_lookup import section_aggregate, section_name
from regledger.adapters.cli_output import FormatOption, Listing, OutputFormat, cols, emit
from regledger.adapters.cli_token import keys_from


def batch_enroll(
    section: Annotated[str, typer.Argument(help=SECTION_HELP)],
    reason: Annotated[str, typer.Option("--reason", help="Why (required; recorded on every seat).")],
    keys_file: Annotated[
        Path | None,
        typer.Option("--keys-file", help="One student key per line, or a CSV with a student_key column ('-': stdin)."),
    ] = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="A student key (repeatable).")] = None,
    override_capacity: Annotated[
        bool, typer.Option("--override-capacity", help="Seat past the section's capacity.")
    ] = False,
    program: Annotated[str | None, typer.Option("--program", help=PROGRAM_OPTION_HELP)] = None,
    idempotency_key: IdempotencyKeyOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Seat each listed student in a section: ok, skipped (already there), conflict, full or
    refused, per student (each student's seat is its own command; a repeat with the same
    --idempotency-key repeats nothing)."""
    keys = keys_from(keys_file, key)
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        app = built.app
        found = section_aggregate(app, section_address(section, program))
        name = section_name(app, found)
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
