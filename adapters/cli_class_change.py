"""`regledger class-change request|start|commit|discard|replay|show|runs`: class-change requests
and the class-change lottery (runs of kind class_change, read from their aggregates)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any
from uuid import UUID

import typer

from regledger.adapters.cli_address import SECTION_HELP, section_address, student_address
from regledger.adapters.cli_common import admin_context, console, parse_uuid, run_refusable, services
from regledger.adapters.cli_lottery import print_replay
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit, emit_parts
from regledger.domain.ids import SectionId, program_id
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.request_commands import current_requests, request_level_of
from regledger.domain.student import Student
from regledger.domain.values import check_timezone as zone_of

class_change_cli = typer.Typer(
    no_args_is_help=True, help="Class-change requests and runs: request, start, show, replay, commit."
)


def _request(text: str, slug: str) -> tuple[SectionId, int | None]:
    """`M101s1:2` -> (its id, 2); `M101s1` -> (its id, None: no priority)."""
    section, colon, level = text.rpartition(":") if ":" in text else (text, "", "")
    if colon and not level.isdigit():
        raise typer.BadParameter(f"{text!r}: a request is SECTION or SECTION:PRIORITY (a number)")
    return section_address(section, slug).section_id, int(level) if colon else None


@class_change_cli.command("request")
def request(
    student: Annotated[str, typer.Argument(help="The student: SLUG/KEY.")],
    sections: Annotated[
        list[str] | None,
        typer.Argument(help=f"SECTION[:PRIORITY] each, replacing every current request. {SECTION_HELP}"),
    ] = None,
    withdraw_all: bool = typer.Option(False, "--withdraw-all", help="Withdraw every request (no SECTION)."),
    reason: str = typer.Option("", "--reason"),
    override: bool = typer.Option(False, "--override", help="Skip the window, cap and grade checks (needs --reason)."),
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Replace a student's class-change requests (as an admin; one command, only what differs is
    written); without SECTION, list them."""
    who = student_address(student)
    if sections and withdraw_all:
        raise typer.BadParameter("--withdraw-all takes no SECTION")
    wanted = dict(_request(s, who.slug) for s in sections or [])
    if len(wanted) != len(sections or []):
        raise typer.BadParameter("a section is requested twice")
    if sections or withdraw_all:
        ctx = admin_context(reason, override=override)
        with services(catch_up=False) as built:
            result = run_refusable(lambda: built.app.request_changes(who.program_id, who.key, wanted, ctx))
        console.print(f"{who}: {result.ids.get('requests', '0')} requests, at {result.position}")
        return
    with services() as built:
        found = built.app.find(Student, Student.create_id(who.program_id, who.key))
        held = current_requests(found) if found is not None else {}
        names = built.views.sections_by_id(held)
    rows = []
    for section_id, verb in sorted(held.items(), key=lambda item: str(item[0])):
        view = names.get(section_id)
        level = request_level_of(verb)
        rows.append((view.code if view else None, view.class_title if view else None, level or None, verb, section_id))
    listing = Listing(
        f"Class-change requests of {who}",
        cols("section", "class", "priority", "verb", Column("section_id", in_table=False)),
        rows,
        caption="priority empty = no priority",
        items="requests",
        about={"student": str(who)},
    )
    emit(listing, fmt)


@class_change_cli.command("start")
def start(
    program: str = typer.Argument(..., help="The program's slug."),
    seed: int | None = typer.Option(None, "--seed", min=0, help="Recorded with the run (default: drawn at random)."),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Compute a class-change run from the log as it stands and record it (nobody moves yet)."""
    with services(catch_up=False) as built:
        with console.status("computing the class change..."):
            result = run_refusable(
                lambda: built.app.start_class_change(program_id(program), admin_context(reason), seed=seed)
            )
        run_id = parse_uuid(result.ids["run_id"], "run id")
        stats = built.app.class_change_stats(run_id)
    console.print(
        f"run {run_id}: seed {result.ids['seed']}, {stats['students_changed']} students change, "
        f"{stats['seats_moved']} seats move; commit with `regledger class-change commit {run_id}`"
    )


def _stats_rows(run: LotteryRun) -> list[tuple[str, Any]]:
    stats = run.stats
    rows: list[tuple[str, Any]] = [
        ("Status", run.status),
        ("Seed", run.seed),
        ("Input position", run.input_position),
        ("Algorithm", run.parameters.get("algorithm")),
    ]
    for key in ("students_with_requests", "students_changed", "students_unchanged", "seats_moved", "seats_released"):
        rows.append((key.replace("_", " ").capitalize(), stats.get(key)))
    for level in stats.get("levels", []):
        name = f"Priority {level['level']}" if level["level"] else "No priority"
        rows.append((f"{name} granted", f"{level['granted']}/{level['requested']}"))
    for key in ("requests_unavailable", "ignored_requests", "pushed_back", "reverted"):
        rows.append((key.replace("_", " ").capitalize(), stats.get(key)))
    return rows


@class_change_cli.command("show")
def show(
    run: str = typer.Argument(..., help="The run id."),
    limit: int | None = typer.Option(None, "--limit", min=0, help="Moves to print (default: 50 in a table, all else)."),
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A run's stats and its moves (per student: sections dropped and added), recomputed and checked."""
    run_id = parse_uuid(run, "RUN")
    with services() as built:
        loaded = run_refusable(lambda: built.app.load_class_change_run(run_id))
        result = run_refusable(lambda: built.app.class_change_assignment(run_id))
        shown = result.moves[: limit if limit is not None else 50 if fmt is OutputFormat.table else None]
        students = built.views.student_views(m.student_id for m in shown)
        sections = built.views.sections_by_id({s for m in shown for s in (*m.dropped, *(a for a, _ in m.added))})

    def code(section_id: UUID) -> str:
        view = sections.get(section_id)
        return view.code if view else str(section_id)

    rows = []
    for move in shown:
        student = students.get(move.student_id)
        added = [f"{code(s)}{f' (p{lv})' if lv else ''}" for s, lv in move.added]
        rows.append((student.key if student else str(move.student_id), [code(s) for s in move.dropped], added))
    about = {"run_id": loaded.id, "program_id": loaded.program_id, "status": loaded.status, "seed": loaded.seed}
    stats = Listing(f"Class-change run {loaded.id}", cols("label:", "value"), _stats_rows(loaded), items="stats")
    moves = Listing(
        f"Moves of run {loaded.id}",
        cols("student_key:student", "dropped", "added"),
        rows,
        caption=f"{len(result.moves)} students change ({len(shown)} shown), digest {result.digest()}",
        items="moves",
    )
    document = {
        **{k: str(v) if isinstance(v, UUID) else v for k, v in about.items()},
        "parameters": loaded.parameters,
        "stats": loaded.stats,
        "digest": result.digest(),
        "moves": [dict(zip(("student_key", "dropped", "added"), row, strict=True)) for row in rows],
    }
    emit_parts([stats, moves], fmt, document)


@class_change_cli.command("runs")
def runs(
    program: str = typer.Argument(..., help="The program's slug."), fmt: FormatOption = OutputFormat.table
) -> None:
    """A program's class-change runs, newest first."""
    with services() as built:
        found = [
            r
            for r in built.views.lottery_runs(program_id(program))
            if built.app.load_run(r.run_id).parameters.get("kind") == "class_change"
        ]
        view = built.views.program(program_id(program))
    rows = [(r.run_id, r.status, r.seed, r.assignments, r.enrolments, r.started_at, r.actor) for r in found]
    listing = Listing(
        f"Class-change runs of {program}",
        cols(
            "run_id:run", "status", "seed", "assignments:students", "enrolments:seats", "started_at:started", "actor:by"
        ),
        rows,
        caption=f"{len(rows)} runs; commit one with `regledger class-change commit RUN`",
        items="runs",
        about={"program": program},
        zone=zone_of(view.timezone) if view is not None else UTC,
    )
    emit(listing, fmt)


@class_change_cli.command("commit")
def commit(run: str = typer.Argument(..., help="The run id."), reason: str = typer.Option("", "--reason")) -> None:
    """Apply a run's moves (all or nothing, once); refused if registrations changed since the run."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built, console.status("committing..."):
        result = run_refusable(lambda: built.app.commit_class_change(run_id, admin_context(reason)))
    console.print(f"committed run {run_id}: {result.ids.get('seats_moved', '0')} seats moved, at {result.position}")


@class_change_cli.command("discard")
def discard(run: str = typer.Argument(..., help="The run id."), reason: str = typer.Option("", "--reason")) -> None:
    """Discard a run that was not committed."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built:
        run_refusable(lambda: built.app.load_class_change_run(run_id))
        run_refusable(lambda: built.app.discard_lottery(run_id, admin_context(reason)))
    console.print(f"discarded run {run_id}")


@class_change_cli.command("replay")
def replay(run: str = typer.Argument(..., help="The run id.")) -> None:
    """Recompute a run from its position and seed; IDENTICAL or DIFFERENT (exit 1)."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built, console.status("replaying..."):
        report = run_refusable(lambda: built.app.replay_class_change(run_id))
    print_replay(report)
    if not report.identical:
        raise typer.Exit(1)
