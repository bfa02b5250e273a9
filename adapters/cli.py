"""The `regledger` command line (typer + rich)."""

from __future__ import annotations

import logging

import typer
from rich.console import Console

from regledger.adapters.bootstrap import build
from regledger.adapters.demo import run_demo
from regledger.adapters.settings import Settings

cli = typer.Typer(no_args_is_help=True, help="regledger: event-sourced class registration.")
console = Console()


@cli.callback()
def _configure(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every refusal and retry.")) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


@cli.command()
def demo() -> None:
    """Run a short registration scenario on the configured store (default: SQLite under ./var)."""
    settings = Settings()
    console.print(f"store: [bold]{settings.store}[/bold] {settings.redacted().get('sqlite_path', '')}")
    services = build(settings)
    try:
        raise typer.Exit(run_demo(services, console))
    finally:
        services.close()


def main() -> None:
    cli()
