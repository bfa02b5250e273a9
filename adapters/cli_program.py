"""`regledger program create|settings|window` and `regledger timeslot add`.

Times people type (window ends, timeslot starts) are read in the program's timezone unless they
name their own offset.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer

from regledger.adapters.cli_common import (
    IdempotencyKeyOption,
    ReasonOption,
    admin_context,
    console,
    done,
    parse_grades,
    parse_when,
    run_refusable,
    services,
)
from regledger.domain.application import Registration
from regledger.domain.ids import program_id
from regledger.domain.program import WINDOW_KINDS, Program, ProgramSettings
from regledger.domain.values import CommandContext, in_zone

program_cli = typer.Typer(no_args_is_help=True, help="Programs: create, change settings, set windows, show.")
timeslot_cli = typer.Typer(no_args_is_help=True, help="A program's timeslots.")

SETTING_TYPES = {f.name: str(f.type) for f in fields(ProgramSettings)}
LOCAL_HELP = "in the program's timezone unless it names an offset"
TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


def _setting(name: str, raw: str) -> Any:
    """A setting's text as its type: a yes/no, a number, a comma-separated list of verbs..."""
    kind = SETTING_TYPES.get(name)
    if kind is None:
        return raw  # the domain names the settings it knows
    text = raw.strip()
    if "None" in kind and text.lower() in ("", "none", "null"):
        return None
    try:
        if kind.startswith("tuple"):
            values = json.loads(text) if text.startswith("[") else [v.strip() for v in text.split(",") if v.strip()]
            return list(values)
        if kind == "bool":
            if text.lower() not in TRUE + FALSE:
                raise ValueError
            return text.lower() in TRUE
        if kind.startswith("int"):
            return int(text)
        if kind == "Decimal":
            return str(Decimal(text))
    except (ValueError, InvalidOperation):  # JSONDecodeError is a ValueError
        raise typer.BadParameter(f"setting {name} is {kind}, got {raw!r}") from None
    return raw


def parse_settings(pairs: list[str]) -> dict[str, Any]:
    """`waitlist_enabled=true timezone=America/New_York` -> typed values."""
    out: dict[str, Any] = {}
    for pair in pairs:
        name, eq, raw = pair.partition("=")
        if not eq or not name.strip():
            raise typer.BadParameter(f"a setting is NAME=VALUE, got {pair!r} (settings: {', '.join(SETTING_TYPES)})")
        out[name.strip()] = _setting(name.strip(), raw)
    return out


def _program(app: Registration, slug: str) -> Program:
    return run_refusable(lambda: app.load_program(program_id(slug)))


@contextmanager
def _zoned(slug: str, reason: str, key: str | None) -> Iterator[tuple[Registration, CommandContext, str]]:
    """The application, the admin context and the program's timezone, for a command on times."""
    ctx = admin_context(reason, key)
    with services(catch_up=False) as built:
        yield built.app, ctx, _program(built.app, slug).settings.timezone


def _local(value: str, option: str, zone: str) -> datetime:
    return in_zone(parse_when(value, option) or datetime.min, zone)  # parse_when(str) is never None


def _local_or_open(value: str | None, option: str, zone: str) -> datetime | None:
    return None if value is None else _local(value, option, zone)


def _shown(value: Any) -> str:
    return "unset" if value is None else json.dumps(value) if not isinstance(value, str) else value


@program_cli.command("create")
def create(
    slug: Annotated[
        str, typer.Argument(help="The program's slug (letters, digits, . _ @ + -), e.g. splash-fall-2026.")
    ],
    title: Annotated[str, typer.Option("--title", help="Its name, as people see it.")],
    school_year: Annotated[int, typer.Option("--school-year", help="The school year's end (grades are read from it).")],
    grades: Annotated[str, typer.Option("--grades", help="The grade range, e.g. 9-12.")] = "7-12",
    timezone: Annotated[str, typer.Option("--timezone", help="Where it happens: an IANA zone.")] = "UTC",
    setting: Annotated[list[str] | None, typer.Option("--setting", help="NAME=VALUE, repeatable.")] = None,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Create a program."""
    low, high = parse_grades(grades) or (7, 12)
    settings = {**parse_settings(setting or []), "timezone": timezone}
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        result = run_refusable(
            lambda: built.app.create_program(
                slug, title, ctx, grade_min=low, grade_max=high, school_year=school_year, settings=settings
            )
        )
    done(
        result,
        f"created program {slug} {title!r} (id {result.ids['program_id']}): grades {low}-{high}, "
        f"school year {school_year}, timezone {timezone}",
    )


@program_cli.command("settings")
def change_settings(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    pairs: Annotated[
        list[str], typer.Argument(help="NAME=VALUE ... (e.g. waitlist_enabled=true).", metavar="NAME=VALUE")
    ],
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Change program settings; prints each setting's old and new value."""
    changes = parse_settings(pairs)
    ctx = admin_context(reason, idempotency_key)
    with services(catch_up=False) as built:
        before = _program(built.app, slug).settings.as_dict()
        result = run_refusable(lambda: built.app.change_settings(program_id(slug), changes, ctx))
        after = _program(built.app, slug).settings.as_dict()
    done(result, f"settings of {slug} (id {program_id(slug)}):")
    for name in changes:
        console.print(f"  {name}: {_shown(before.get(name))} -> {_shown(after.get(name))}", highlight=False)


@program_cli.command("window")
def window(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    kind: Annotated[str, typer.Argument(help=f"One of {', '.join(WINDOW_KINDS)}.")],
    opens: Annotated[
        str | None, typer.Option("--opens", help=f"When it opens ({LOCAL_HELP}); default: always.")
    ] = None,
    closes: Annotated[
        str | None, typer.Option("--closes", help=f"When it closes ({LOCAL_HELP}); default: never.")
    ] = None,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Set a registration window (both ends inclusive; an end not given is open)."""
    with _zoned(slug, reason, idempotency_key) as (app, ctx, zone):
        start, end = _local_or_open(opens, "--opens", zone), _local_or_open(closes, "--closes", zone)
        result = run_refusable(lambda: app.set_window(program_id(slug), kind, start, end, ctx))
    shown = (t.isoformat() if t else None for t in (start, end))
    done(result, f"{kind} window of {slug}: opens {next(shown) or 'any time'}, closes {next(shown) or 'never'}")


def _end_of(value: str, start: datetime, zone: str) -> datetime:
    """END as a date-time, or a time of START's day (`10:50`)."""
    if len(value.strip()) <= 8 and ":" in value:
        try:
            return datetime.combine(start.date(), time.fromisoformat(value.strip()), tzinfo=start.tzinfo)
        except ValueError:
            pass
    return _local(value, "END", zone)


@timeslot_cli.command("add")
def add_timeslot(
    slug: Annotated[str, typer.Argument(help="The program's slug.")],
    label: Annotated[str, typer.Argument(help='Its label, e.g. "Sat 9:00".')],
    start: Annotated[str, typer.Argument(help=f"When it starts, e.g. 2026-11-21T09:00 ({LOCAL_HELP}).")],
    end: Annotated[str, typer.Argument(help="When it ends: a date-time, or a time of the same day (09:50).")],
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Add a timeslot to a program."""
    with _zoned(slug, reason, idempotency_key) as (app, ctx, zone):
        starts = _local(start, "START", zone)
        ends = _end_of(end, starts, zone)
        result = run_refusable(lambda: app.add_timeslot(program_id(slug), label, starts, ends, ctx))
    done(
        result,
        f"added timeslot {label!r} to {slug} (id {result.ids['timeslot_id']}): "
        f"{starts.isoformat()} to {ends.isoformat()}",
    )
