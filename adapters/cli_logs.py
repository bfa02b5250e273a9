"""`regledger logs`: the events tables of this database, their heads, and where the views are.

With `REGLEDGER_LOG_LAYOUT=per_program` a row per program with its own table, after the shared
one (the verb catalogue and the programs created before the switch); otherwise one row for the
one table. `behind` is the events of a table the views do not include yet.
"""

from __future__ import annotations

from regledger.adapters.cli_common import services
from regledger.adapters.cli_output import FormatOption, Listing, OutputFormat, cols, emit
from regledger.adapters.program_log_projector import ProgramLogsProjector
from regledger.adapters.views.postgres import PostgresViews

COLUMNS = cols("program", "events_table:table", "head", "views:views at", "behind")


def logs(fmt: FormatOption = OutputFormat.table) -> None:
    """The events tables (one, or one per program), their last positions and the views'."""
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


__all__ = ["logs"]
