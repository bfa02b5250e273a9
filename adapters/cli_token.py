"""`regledger token create|revoke|list`: bearer tokens for the HTTP API."""

from __future__ import annotations

import typer

from regledger.adapters.auth import build_token_store
from regledger.adapters.cli_common import console, err_console, refused, table
from regledger.adapters.settings import Settings
from regledger.domain.errors import RegistrationError

token_cli = typer.Typer(no_args_is_help=True, help="Bearer tokens for the HTTP API (stored hashed).")


@token_cli.command("create")
def create(
    role: str = typer.Option(..., "--role", help="admin or student."),
    subject: str = typer.Option(
        ..., "--subject", help="admin: a name; student: PROGRAM/KEY (the program's slug and the student's key)."
    ),
) -> None:
    """Create a token and print it ONCE (only its hash is stored)."""
    store = build_token_store(Settings())
    try:
        token = store.create(role, subject)
    except RegistrationError as error:
        raise refused(error) from None
    finally:
        store.close()
    token_id = token.split(".", 1)[0]
    err_console.print(f"created {role} token {token_id} for {subject}; it is shown only now:", highlight=False)
    # Plain print: no wrapping or markup, so it can be piped into a secret store.
    print(token)


@token_cli.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The token id (`rl_<16 hex>`, the part before the dot).")) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    store = build_token_store(Settings())
    try:
        done = store.revoke(token_id)
    finally:
        store.close()
    if not done:
        err_console.print(f"[red]not revoked:[/red] no active token {token_id}", highlight=False)
        raise typer.Exit(1)
    console.print(f"revoked {token_id}", highlight=False)


@token_cli.command("list")
def list_tokens() -> None:
    """Every token (ids, roles, subjects, revocation), never secrets."""
    store = build_token_store(Settings())
    try:
        records = store.list()
    finally:
        store.close()
    rows = [(f"rl_{r.token_id}", r.role, r.subject, r.created_at, r.revoked_at or "") for r in records]
    console.print(table("Tokens", ["token id", "role", "subject", "created", "revoked"], rows))
