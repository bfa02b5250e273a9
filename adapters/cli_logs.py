"""`regledger logs`: the events tables of this database, their heads, and where the views are;
`regledger logs split SLUG`: move a program into a table of its own.

With `REGLEDGER_LOG_LAYOUT=per_program` a row per program with its own table, after the shared
one (the verb catalogue and the programs created before the switch); otherwise one row for the
one table. `behind` is the events of a table the views do not include yet.

`split` moves a program's events out of the shared table in one transaction, positions unchanged
(`ProgramLogs.split`), and starts the new table's tracking rows (views and outbox) where the
shared table's followers are: nothing is applied or mailed twice, clients' positions keep their
meaning, no rebuild. It is done offline: with `serve`, `project` or `notify run` still connected,
a write could land in the shared table after the move, so it is refused while another regledger
session is connected to the database.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import psycopg
import typer

from regledger.adapters.cli_common import console, err_console, services
from regledger.adapters.cli_lookup import program_named
from regledger.adapters.cli_output import FormatOption, Listing, OutputFormat, cols, emit
from regledger.adapters.notifier.store import FOLLOWER, open_outbox
from regledger.adapters.program_log_projector import ProgramLogsProjector
from regledger.adapters.program_logs_app import ProgramLogRegistration
from regledger.adapters.settings import Settings
from regledger.adapters.views.postgres import PostgresViews
from regledger.adapters.views.writes import TRACKING_NAME
from regledger.domain.ids import ProgramId

COLUMNS = cols("program", "events_table:table", "head", "views:views at", "behind")

logs_cli = typer.Typer(help="The events tables, and moving a program into its own.")


@logs_cli.callback(invoke_without_command=True)
def logs(ctx: typer.Context, fmt: FormatOption = OutputFormat.table) -> None:
    """The events tables (one, or one per program), their last positions and the views'."""
    if ctx.invoked_subcommand is not None:
        return
    with services() as built:
        projector, views = built.projector, built.views
        if isinstance(projector, ProgramLogsProjector) and isinstance(views, PostgresViews):
            heads = projector.heads()
            tracked = views.positions([projector.tracking_name(table) for table in heads])
            slugs = {p.program_id: p.slug for p in views.programs()}
            owners = {table: slugs.get(program, str(program)) for program, table in projector.app.logs.tables().items()}
            rows = []
            for table, head in heads.items():
                at = tracked.get(projector.tracking_name(table), 0)
                rows.append((owners.get(table, "(shared)"), table, head, at, projector.count_after(table, at)))
        else:
            head, at = built.app.position(), views.position()
            table = str(getattr(built.app.recorder, "events_table_name", "events"))
            rows = [("(every program)", table, head, at, max(head - at, 0))]  # ids, as /ready counts
    emit(Listing("Event logs", COLUMNS, rows, items="logs"), fmt)


@logs_cli.command("split")
def split(slug: Annotated[str, typer.Argument(help="The program's slug")]) -> None:
    """Move a program created in the shared table into a table of its own (offline: stop
    `serve`, `project` and `notify run` first)."""
    settings = Settings()
    if not settings.per_program:
        _fail("a program gets its own table only with REGLEDGER_LOG_LAYOUT=per_program")
    if others := _other_sessions(settings):
        _fail(f"{others} other regledger session(s) are connected: stop serve, project and notify run first")
    with services() as built:
        app, views = built.app, built.views
        if not isinstance(app, ProgramLogRegistration) or not isinstance(views, PostgresViews):
            _fail("a program gets its own table only on PostgreSQL")
        program = ProgramId(program_named(views, slug).program_id)
        if app.logs.table_of(program) is not None:
            _fail(f"{slug} has its own table already: {app.logs.table_of(program)}")
        table = app.logs.table_name(program)
        # The followers of the new table start where the shared table's are (set first: a
        # failed move leaves only rows nobody follows yet).
        views.set_tracking(f"{TRACKING_NAME}:{table}", views.positions([TRACKING_NAME]).get(TRACKING_NAME, 0))
        outbox = open_outbox(settings)
        try:
            outbox.create_tables()
            outbox.track(f"{FOLLOWER}:{table}", at=outbox.position())
        finally:
            outbox.close()
        table, moved = app.split_program(program)
    console.print(f"moved {moved} events of {slug} into {table}; positions unchanged")


def _other_sessions(settings: Settings) -> int:
    """Sessions of other regledger processes on this database (they name themselves)."""
    with psycopg.connect(settings.postgres_conninfo(), application_name="regledger-split") as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'regledger' AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(2)


__all__ = ["logs_cli"]
