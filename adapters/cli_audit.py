"""`regledger audit SLUG`: a program's event log, as `GET /programs/{slug}/audit` answers it.

The same query (`routes_audit.audit_query`: kinds by name, sections by code, times in the
program's zone) and the same rows; a table, JSON or CSV (`--format`). One page (`--limit`,
`--after`), or every row the filters pass with `--all`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

import typer

from regledger.adapters.cli_common import parse_when, run_refusable, services
from regledger.adapters.cli_lookup import program_named, zone
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit
from regledger.adapters.http import routes_audit
from regledger.projections.audit_views import MAX_LIMIT, AuditEntry


def audit(
    slug: Annotated[str, typer.Argument(help="The program's slug")],
    actor: Annotated[str | None, typer.Option("--actor", help="Only events recorded by this actor")] = None,
    student: Annotated[str | None, typer.Option("--student", help="Only events about this student (key)")] = None,
    section: Annotated[str | None, typer.Option("--section", help="Only events about this section (code)")] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only these event kinds (Section.StudentEnrolled or the name)")
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help="Recorded at or after (ISO 8601)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Recorded before (ISO 8601)")] = None,
    after: Annotated[int | None, typer.Option("--after", help="The position the page follows")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_LIMIT, help="Rows a page")] = 100,
    oldest: Annotated[bool, typer.Option("--oldest", help="Oldest first (default: newest first)")] = False,
    everything: Annotated[bool, typer.Option("--all", help="Every row the filters pass, not one page")] = False,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A program's event log: who did what, when and why, filtered, newest first."""
    with services() as built:
        views = built.views
        program = program_named(views, slug)

        def read() -> tuple[list[AuditEntry], int | None]:
            query = routes_audit.audit_query(
                views,
                slug,
                actor=actor,
                student=student,
                section=section,
                kind=kind,
                since=parse_when(since, "--since"),
                until=parse_when(until, "--until"),
                after=after,
                limit=limit,
                order="oldest" if oldest else "newest",
            )
            if everything:
                return list(routes_audit.all_entries(views, program.program_id, query)), None
            rows = views.audit(program.program_id, replace(query, limit=limit + 1))
            more = len(rows) > limit
            return rows[:limit], rows[limit - 1].position if more else None

        entries, next_after = run_refusable(read)
    rows = [
        (
            e.position,
            e.recorded_at,
            e.event_kind,
            e.summary,
            e.actor,
            e.reason,
            e.cause,
            e.student_key,
            e.section_code,
            e.command_id,
            e.student_id,
            e.section_id,
        )
        for e in entries
    ]
    caption = f"{len(rows)} events" + (f"; next page: --after {next_after}" if next_after is not None else "")
    listing = Listing(
        f"Audit log of {program.title}",
        cols(
            "position:#",
            "recorded_at:recorded",
            "event_kind:event",
            "summary:what",
            "actor",
            "reason",
            "cause",
            Column("student_key", "student", False),
            Column("section_code", "section", False),
            Column("command_id", "command", False),
            Column("student_id", "student id", False),
            Column("section_id", "section id", False),
        ),
        rows,
        caption=caption,
        items="events",
        about={"program": program.slug, "next_after": next_after},
        zone=zone(program),
    )
    emit(listing, fmt)
