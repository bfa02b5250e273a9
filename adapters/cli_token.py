"""`regledger token create|create-batch|revoke|list`: bearer tokens for the HTTP API."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Annotated

import typer

from regledger.adapters.auth import MAX_BATCH, build_token_store, student_tokens_csv
from regledger.adapters.bootstrap import build_application
from regledger.adapters.cli_common import CLI_ACTOR, REFUSED_EXIT, console, err_console, refused, table
from regledger.adapters.http.existence import PROGRAM, Existence
from regledger.adapters.settings import Settings
from regledger.domain.errors import InvalidInputError, NotFoundError, RegistrationError
from regledger.domain.ids import program_id
from regledger.domain.values import check_key

token_cli = typer.Typer(no_args_is_help=True, help="Bearer tokens for the HTTP API (stored hashed).")

KEY_COLUMN = "student_key"
# The students import's own file names the column `key`: the same file issues their tokens.
KEY_COLUMNS = (KEY_COLUMN, "key")
PROBLEMS_SHOWN = 20  # of a file's problems; the count says how many more


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
        token = store.create(role, subject, actor=CLI_ACTOR)
    except RegistrationError as error:
        raise refused(error) from None
    finally:
        store.close()
    token_id = token.split(".", 1)[0]
    err_console.print(f"created {role} token {token_id} for {subject}; it is shown only now:", highlight=False)
    # Plain print: no wrapping or markup, so it can be piped into a secret store.
    print(token)


def check_keys(found: list[tuple[str, str]], problems: list[str]) -> list[str]:
    """The keys of (where, key) pairs, each checked as everywhere (`check_key`) and allowed once;
    a problem, with its `where`, is added for each one that is not."""
    keys: dict[str, str] = {}
    for where, key in found:
        try:
            check_key(key, KEY_COLUMN)
        except InvalidInputError as error:
            problems.append(f"{where}: {error.message} (got {key!r})")
            continue
        if key in keys:
            problems.append(f"{where}: {key} repeats {keys[key]}")
            continue
        keys[key] = where
    return list(keys)


def parse_keys(text: str) -> tuple[list[str], list[str]]:
    """(keys, problems) of a keys file: one key per line, or a CSV whose header row names a
    `student_key` (or `key`, as the students import) column (other columns ignored). Blank
    lines are skipped; problems carry their line numbers."""
    found: list[tuple[str, str]] = []
    problems: list[str] = []
    column: int | None = None
    first = True
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for row in reader:
            line, cells = reader.line_num, [cell.strip() for cell in row]
            if not any(cells):
                continue
            named = next((name for name in KEY_COLUMNS if name in cells), None)
            if first and named is not None:
                column, first = cells.index(named), False
                continue
            first = False
            if column is not None:
                found.append((f"line {line}", cells[column] if column < len(cells) else ""))
            elif len(cells) == 1:
                found.append((f"line {line}", cells[0]))
            else:
                problems.append(f"line {line}: expected one key per line, or a CSV with a {KEY_COLUMN} column")
    except csv.Error as error:  # a runaway quote or an over-long field: the rest cannot be read
        problems.append(f"line {reader.line_num}: {error}")
    keys = check_keys(found, problems)
    if not keys and not problems:
        problems.append("no student keys")
    return keys, problems


def _read_text(keys_file: Path) -> str:
    data = sys.stdin.buffer.read() if str(keys_file) == "-" else keys_file.read_bytes()
    try:
        return data.decode("utf-8-sig")  # a spreadsheet's byte-order mark is not part of a key
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise typer.BadParameter(f"line {line}: not UTF-8 text ({error.reason})", param_hint="--keys-file") from None


def keys_from(keys_file: Path | None, key: list[str] | None) -> list[str]:
    if (keys_file is None) == (not key):
        raise typer.BadParameter("give either --keys-file or --key (one or more), not both")
    if keys_file is not None:
        try:
            keys, problems = parse_keys(_read_text(keys_file))
        except OSError as error:
            raise typer.BadParameter(str(error), param_hint="--keys-file") from None
    else:
        problems = []
        keys = check_keys([(f"--key #{i}", k) for i, k in enumerate(key or [], 1)], problems)
    if len(keys) > MAX_BATCH:
        problems.append(f"{len(keys)} keys: at most {MAX_BATCH} at a time")
    if problems:
        for problem in problems[:PROBLEMS_SHOWN]:
            err_console.print(f"invalid: {problem}", highlight=False, markup=False)
        if len(problems) > PROBLEMS_SHOWN:
            err_console.print(f"... and {len(problems) - PROBLEMS_SHOWN} more problems", highlight=False)
        err_console.print("nothing was created", highlight=False)
        raise typer.Exit(REFUSED_EXIT)
    return keys


def _require_program(settings: Settings, slug: str) -> None:
    check_key(slug, "slug")
    settings.prepare()
    app = build_application(settings)
    try:
        known = Existence(app).exists(program_id(slug), PROGRAM)
    finally:
        app.close()
    if not known:
        raise NotFoundError("No such program", slug=slug)


@token_cli.command("create-batch")
def create_batch(
    program: Annotated[str, typer.Option("--program", help="The program's slug.")],
    keys_file: Annotated[
        Path | None,
        typer.Option(
            "--keys-file",
            help=f"One student key per line, or a CSV with a {KEY_COLUMN} column ('-' reads stdin). UTF-8.",
        ),
    ] = None,
    key: Annotated[list[str] | None, typer.Option("--key", help="A student key (repeatable).")] = None,
    revoke_existing: Annotated[
        bool, typer.Option("--revoke-existing", help="Also revoke these students' earlier tokens.")
    ] = False,
) -> None:
    """Create one student token per key, all in one transaction, and print them ONCE as CSV
    (student_key,token_id,token) on stdout. Earlier tokens of these students stay valid unless
    --revoke-existing. Every key is checked first: one bad key and nothing is created."""
    keys = keys_from(keys_file, key)
    settings = Settings()
    try:
        _require_program(settings, program)
        store = build_token_store(settings)
        try:
            batch = store.create_many(
                "student", [f"{program}/{k}" for k in keys], actor=CLI_ACTOR, revoke_existing=revoke_existing
            )
        finally:
            store.close()
    except RegistrationError as error:
        raise refused(error) from None
    revoked = f"; revoked {len(batch.revoked)} earlier ones" if revoke_existing else ""
    err_console.print(
        f"created {len(batch.tokens)} student tokens for {program}{revoked}; they are shown only now (CSV on stdout)",
        highlight=False,
    )
    sys.stdout.write(student_tokens_csv(batch.tokens, lineterminator="\n"))


@token_cli.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The token id (`rl_<16 hex>`, the part before the dot).")) -> None:
    """Revoke a token; requests with it get 401 from then on."""
    store = build_token_store(Settings())
    try:
        done = store.revoke(token_id, actor=CLI_ACTOR)
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
    rows = [(r.public_id, r.role, r.subject, r.created_at, r.revoked_at or "") for r in records]
    console.print(table("Tokens", ["token id", "role", "subject", "created", "revoked"], rows))
