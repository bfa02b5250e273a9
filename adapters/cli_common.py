"""Shared pieces of the `regledger` CLI: the console, services, refusals, tables, progress, times,
and the options and output of commands that change things."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.settings import Settings
from regledger.domain.errors import RegistrationError
from regledger.domain.runner import CommandResult
from regledger.domain.values import CommandContext, in_zone
from regledger.projections.views import PositionAlreadyApplied

console = Console()
err_console = Console(stderr=True)

REFUSED_EXIT = 2
CLI_ACTOR = "admin:cli"
T = TypeVar("T")


def admin_context(reason: str = "", command_id: str | None = None, *, override: bool = False) -> CommandContext:
    """Commands from the CLI are recorded as the admin `cli` (the operator has the store's keys).

    A context the domain refuses (an override without a reason, a malformed key) exits 2."""
    try:
        if command_id:
            return CommandContext(actor=CLI_ACTOR, reason=reason, command_id=command_id, override=override)
        return CommandContext(actor=CLI_ACTOR, reason=reason, override=override)
    except RegistrationError as error:
        raise refused(error) from None


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
        out.add_column(column, overflow="fold")  # wrap, never cut: ids and reasons stay whole
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


AS_OF_HELP = (
    "Answer as of this ISO 8601 date-time (default: now). Without an offset (2026-11-21T09:00) it "
    "is read in the program's timezone (its `timezone` setting); an explicit offset or Z wins."
)


def parse_when(value: str | None, option: str = "--as-of") -> datetime | None:
    """An ISO 8601 date-time, with or without an offset (`in_zone` reads a naive one later)."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{option} must be an ISO 8601 date-time such as 2026-11-21T09:00 or 2026-11-21T09:00:00Z, got {value!r}"
        ) from None


def local_when(value: datetime | None, zone: str) -> datetime | None:
    """A parsed time in the program's zone unless it names its own offset."""
    return None if value is None else in_zone(value, zone)


def short(when: datetime | None) -> str:
    return "" if when is None else when.isoformat(timespec="seconds")


# -- what every command that changes something takes and prints ---------------------------

ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why: recorded with the change (required with --override).")
]
IdempotencyKeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        help="A key of your choosing: repeating the command with it answers the first outcome "
        "instead of changing anything twice.",
    ),
]
OverrideOption = Annotated[
    bool, typer.Option("--override", help="An admin override of the registration rules (needs --reason).")
]


def done(result: CommandResult, what: str) -> None:
    """Print what a command changed; a repeated idempotency key says nothing changed."""
    if result.replayed:
        what += " (already done under this idempotency key: nothing changed)"
    console.print(f"{what} [position {result.position}]", markup=False, highlight=False, soft_wrap=True)


def warn(text: str) -> None:
    err_console.print(f"[yellow]WARNING:[/yellow] {text}", highlight=False)


def parse_grades(value: str | None) -> tuple[int, int] | None:
    """`9-12` or `9` (one grade), for a --grades option."""
    if value is None:
        return None
    low, dash, high = value.strip().partition("-")
    try:
        grades = (int(low), int(high) if dash else int(low))
    except ValueError:
        raise typer.BadParameter(f"--grades is a range such as 9-12 (or one grade), got {value!r}") from None
    if grades[0] > grades[1]:
        raise typer.BadParameter(f"--grades {value!r}: the lowest grade comes first")
    return grades
