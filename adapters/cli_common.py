"""Shared pieces of the `regledger` CLI: the console, services, refusals, tables, progress."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.settings import Settings
from regledger.domain.errors import RegistrationError
from regledger.domain.values import CommandContext
from regledger.projections.views import PositionAlreadyApplied

console = Console()
err_console = Console(stderr=True)

REFUSED_EXIT = 2
CLI_ACTOR = "admin:cli"
T = TypeVar("T")


def admin_context(reason: str = "", command_id: str | None = None) -> CommandContext:
    """Commands from the CLI are recorded as the admin `cli` (the operator has the store's keys)."""
    if command_id:
        return CommandContext(actor=CLI_ACTOR, reason=reason, command_id=command_id)
    return CommandContext(actor=CLI_ACTOR, reason=reason)


@contextmanager
def services(*, catch_up: bool = True) -> Iterator[Services]:
    """Services over the configured store (REGLEDGER_* variables), closed on exit.

    On the embedded stores the views are caught up first (nothing else projects them); on
    PostgreSQL `regledger project` keeps them current and the CLI only reads."""
    built = build(Settings(), follow=False)
    try:
        if catch_up and built.settings.store != "postgres":
            # A running `serve` may project the same file: its batch wins, ours is refused.
            with suppress(PositionAlreadyApplied):
                built.projector.catch_up()
        yield built
    finally:
        built.close()


def refused(error: RegistrationError) -> typer.Exit:
    """Print a domain refusal and return the exit to raise (exit code 2)."""
    err_console.print(f"[red]refused {error.code}:[/red] {error.message}", highlight=False)
    if error.detail:
        err_console.print(f"  detail: {error.detail}", highlight=False)
    return typer.Exit(REFUSED_EXIT)


def run_refusable(call: Callable[[], T]) -> T:
    """Run a command; a refusal exits 2 with `refused <code>: <message>`."""
    try:
        return call()
    except RegistrationError as error:
        raise refused(error) from None


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*("" if cell is None else str(cell) for cell in row))
    return out


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def parse_uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise typer.BadParameter(f"{what} must be a UUID, got {value!r}") from None


def parse_instant(value: str | None) -> datetime | None:
    """An ISO 8601 instant with a timezone (`2026-11-21T09:00:00Z`)."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"--as-of must be an ISO 8601 instant, got {value!r}") from None
    if when.tzinfo is None:
        raise typer.BadParameter("--as-of needs a timezone (e.g. 2026-11-21T09:00:00Z)")
    return when


def short(when: datetime | None) -> str:
    return "" if when is None else when.isoformat(timespec="seconds")
