"""The `regledger` command line (typer + rich).

Every command reads the store from REGLEDGER_* variables (`Settings()`); queries print a table,
JSON or CSV (`--format`), a refused command exits 2 with `refused <code>: <message>`.
Sub-commands live in `cli_queries` (roster, schedule, history, types), `cli_catalogue`
(programs, program show, classes, sections, section show), `cli_students` (students, stars),
`cli_program` (program, timeslot), `cli_classes` (class, section), `cli_registrar` (enroll,
drop, switch, waitlist), `cli_token`, `cli_import`, `cli_lottery` and `cli_class_change`.
"""

from __future__ import annotations

import logging
import math
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from regledger.adapters import (
    cli_audit,
    cli_catalogue,
    cli_logs,
    cli_onsite,
    cli_queries,
    cli_registrar,
    cli_students,
)
from regledger.adapters.bootstrap import Services, build
from regledger.adapters.checkpoint_warmer import CheckpointWarmer
from regledger.adapters.cli_admission import admission_cli
from regledger.adapters.cli_class_change import class_change_cli
from regledger.adapters.cli_classes import class_cli, section_cli
from regledger.adapters.cli_common import console, err_console, progress_bar
from regledger.adapters.cli_export import export_cli
from regledger.adapters.cli_import import import_cli
from regledger.adapters.cli_lottery import lottery_cli
from regledger.adapters.cli_program import program_cli, timeslot_cli
from regledger.adapters.cli_token import token_cli
from regledger.adapters.logs import FORMAT_VARIABLE, LogFormat, configure_logging
from regledger.adapters.notifier.cli import notify_cli
from regledger.adapters.postgres.wakeup import DatabaseUnreachable, one_line
from regledger.adapters.settings import Settings

if TYPE_CHECKING:
    from regledger.adapters.program_log_projector import ProgramLogsProjector
    from regledger.adapters.projector import Projector

DEMO_DATABASE = Path("var/demo.sqlite3")

cli = typer.Typer(no_args_is_help=True, help="regledger: event-sourced class registration.")
cli.add_typer(token_cli, name="token")
cli.add_typer(lottery_cli, name="lottery")
cli.add_typer(class_change_cli, name="class-change")
cli.add_typer(admission_cli, name="admission")
cli.add_typer(import_cli, name="import")
cli.add_typer(export_cli, name="export")
cli.add_typer(notify_cli, name="notify")
cli.command("roster")(cli_queries.roster)
cli.command("queue")(cli_queries.queue)
cli.command("schedule")(cli_queries.schedule)
cli.command("history")(cli_queries.history)
cli.command("types")(cli_queries.types)
cli.command("audit")(cli_audit.audit)
cli.add_typer(cli_logs.logs_cli, name="logs")
cli.add_typer(program_cli, name="program")
cli.add_typer(timeslot_cli, name="timeslot")
cli.add_typer(class_cli, name="class")
cli.add_typer(section_cli, name="section")
cli.command("enroll")(cli_registrar.enroll)
cli.command("drop")(cli_registrar.drop)
cli.command("switch")(cli_registrar.switch)
cli.command("waitlist")(cli_registrar.waitlist)
cli.command("unenroll-all")(cli_registrar.unenroll_all)
cli.command("batch-enroll")(cli_onsite.batch_enroll)
cli.command("check-in")(cli_onsite.check_in)
cli.command("attend")(cli_onsite.attend)
cli.command("attendance")(cli_onsite.attendance)
cli.command("no-shows")(cli_onsite.no_shows)
cli.command("programs")(cli_catalogue.programs)
program_cli.command("show")(cli_catalogue.program_show)
cli.command("classes")(cli_catalogue.classes)
cli.command("sections")(cli_catalogue.sections)
section_cli.command("show")(cli_catalogue.section_show)
cli.command("students")(cli_students.students)
cli.command("stars")(cli_students.stars)


LogFormatOption = Annotated[
    LogFormat | None,
    typer.Option(
        "--log-format",
        envvar=FORMAT_VARIABLE,
        case_sensitive=False,
        help="json (one object a line) or text; default: json unless stderr is a terminal.",
    ),
]


@cli.callback()
def _configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every refusal and retry.")) -> None:
    configure_logging(level=logging.INFO if verbose else logging.WARNING)


def _wait_option(default: float, what: str) -> Any:
    return typer.Option(
        default,
        "--wait-for-database",
        metavar="SECONDS",
        help=f"On PostgreSQL, wait this long for the server at start-up, retrying with backoff "
        f"(default {what}; 0: do not wait). A wrong password, role or database fails at once.",
    )


def _services(wait: float, *, follow: bool | None = False) -> Services:
    """`build`, waiting for PostgreSQL; giving up is one line on stderr and exit 1."""
    # Outages and recoveries (info) and the start-up wait are worth an operator's eye.
    for name in ("regledger.projector", "regledger.database"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        return build(Settings(), follow=follow, wait_for_database=wait)
    except DatabaseUnreachable as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


@cli.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    follow: bool | None = typer.Option(
        None,
        "--follow/--no-follow",
        help="Project the views in this process (default: on for SQLite/memory, off for PostgreSQL, "
        "where `regledger project` runs beside it).",
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        min=1,
        help="Worker processes (default: the core count on PostgreSQL, 1 on SQLite/memory).",
    ),
    log_level: str = typer.Option("info", "--log-level"),
    log_format: LogFormatOption = None,
    wait_for_database: float = _wait_option(60.0, "60"),
) -> None:
    """Serve the HTTP API and the web console (uvicorn); OpenAPI at /docs, console at /admin."""
    configure_logging(log_format, level=log_level)  # uvicorn's own lines included (log_config=None)
    import uvicorn

    from regledger.adapters.http import serving
    from regledger.adapters.http.app import create_app

    services = _services(wait_for_database, follow=follow)
    settings = services.settings
    count = workers or serving.default_workers(settings, follow)
    refused = serving.refusal(settings, follow, count)
    if refused:
        services.close()
        err_console.print(f"[red]error:[/red] {refused}", highlight=False)
        raise typer.Exit(2)
    err_console.print(
        f"store {settings.store}, projecting {'in-process' if services.following else 'elsewhere'}; "
        f"serving on http://{host}:{port} with {count} process{'es' if count > 1 else ''} "
        "(console at /admin, docs at /docs)",
        highlight=False,
    )
    if count > 1:
        services.close()  # each worker builds its own; this one only proved the database is there
        fmt = log_format.value if log_format is not None else None
        serving.prepare_workers(serving.WorkerOptions(follow, wait_for_database, log_level, fmt))
        uvicorn.run(
            "regledger.adapters.http.serving:worker_app",
            factory=True,
            workers=count,
            host=host,
            port=port,
            log_level=log_level,
            log_config=None,
        )
        return
    app = create_app(services)
    serving.tune_collector()
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None)
    finally:
        services.close()


@cli.command()
def project(
    catch_up: bool = typer.Option(False, "--catch-up", help="Stop at the head instead of following."),
    batch_size: int = typer.Option(2000, "--batch-size"),
    log_format: LogFormatOption = None,
    wait_for_database: float = _wait_option(math.inf, "forever"),
) -> None:
    """Keep the registration views current (run this beside `serve` on PostgreSQL).

    Following, it outlives database outages: it retries with backoff and resumes where the views
    are, logging each outage when it starts and when it ends."""
    configure_logging(log_format, level=logging.getLogger().level)
    from regledger.adapters.following import TRANSIENT

    services = _services(wait_for_database)
    projector = services.projector
    projector.batch_size = batch_size
    try:
        try:
            applied = _caught_up(services.projector, "catching up")
            console.print(f"views at position {services.views.position()} ({applied} events applied)")
        except TRANSIENT as exc:
            if catch_up:
                err_console.print(f"[red]error:[/red] catch-up interrupted: {one_line(exc)}", highlight=False)
                raise typer.Exit(1) from None
            # Following resumes it, from the views' position, once the database is back.
        if not catch_up:
            err_console.print("following the log (Ctrl-C or SIGTERM to stop)")

            def stop(_signum: int, _frame: object) -> None:
                projector.stop()  # run_forever returns after the batch or wait in progress

            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, stop)
            warmer = CheckpointWarmer(services.app, services.views)  # fast cold lottery starts
            warmer.start()
            try:
                projector.run_forever()
            finally:
                warmer.stop()
            # The position it committed last: asking the views could fail (stopped in an outage).
            err_console.print(f"stopped at position {projector.position}")
    finally:
        services.close()


def _caught_up(projector: Projector | ProgramLogsProjector, what: str, *, rebuild: bool = False) -> int:
    with progress_bar() as bar:
        task = bar.add_task(what, total=None)

        def progress(position: int, head: int) -> None:
            bar.update(task, completed=position, total=head)

        return projector.rebuild(progress) if rebuild else projector.catch_up(progress)


@cli.command()
def rebuild(wait_for_database: float = _wait_option(60.0, "60")) -> None:
    """Replay the whole log into new tables and swap them in; check they equal the views before.

    A rebuild that fails leaves the views as they were.

    On PostgreSQL stop `regledger project` first (or writes arriving meanwhile make a difference)."""
    services = _services(wait_for_database)
    try:
        _caught_up(services.projector, "catching up")
        before = services.views.dump()
        position = services.views.position()
        try:
            applied = _caught_up(services.projector, "rebuilding", rebuild=True)
        except Exception as exc:
            err_console.print(f"[red]rebuild failed, the views are unchanged:[/red] {one_line(exc)}", highlight=False)
            raise typer.Exit(1) from None
        after = services.views.dump()
        rows = sum(len(v) for v in after.values())
        console.print(f"rebuilt {len(after)} tables, {rows} rows from {applied} events (position {position})")
        if before == after:
            console.print("[green]rebuilt views are identical to the views before the rebuild[/green]")
        else:
            changed = sorted(name for name in set(before) | set(after) if before.get(name) != after.get(name))
            err_console.print(f"[red]rebuilt views DIFFER from the views before:[/red] {', '.join(changed)}")
            raise typer.Exit(1)
    finally:
        services.close()


@cli.command()
def demo(
    students: int = typer.Option(300, "--students", min=10, help="Students in the synthetic program."),
    seed: int = typer.Option(2026, "--seed", help="Seed of the program generator and the lottery."),
    threads: int = typer.Option(6, "--threads", min=1, help="Concurrent first-come-first-served clients."),
    database: Annotated[Path, typer.Option("--database", help="Recreated on every run.")] = DEMO_DATABASE,
) -> None:
    """A whole season on embedded SQLite: lottery, replay, then a concurrent FCFS rush."""
    from regledger.adapters.demo import DemoOptions, run_demo

    raise typer.Exit(run_demo(DemoOptions(students=students, seed=seed, threads=threads, database=database), console))


def main() -> None:
    cli()
