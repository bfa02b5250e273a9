"""`regledger lottery start|runs|stats|assignment|commit|discard|replay|compare`."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Annotated, Any

import typer

from regledger.adapters.cli_common import (
    admin_context,
    console,
    parse_uuid,
    run_refusable,
    services,
    table,
)
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit
from regledger.domain.application import Registration
from regledger.domain.ids import program_id
from regledger.domain.lottery.algorithms import recorded_algorithm
from regledger.domain.lottery_commands import ReplayReport
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.values import check_timezone as zone_of

lottery_cli = typer.Typer(no_args_is_help=True, help="Lottery runs: compute, inspect, replay, commit.")


def _parameters(values: list[str]) -> dict[str, Any]:
    """`--param kp=1.5 --param fill_low_priorities=true` -> {"kp": 1.5, ...} (JSON values)."""
    parameters: dict[str, Any] = {}
    for item in values:
        name, eq, raw = item.partition("=")
        if not eq or not name:
            raise typer.BadParameter(f"--param is NAME=VALUE, got {item!r}")
        try:
            parameters[name] = json.loads(raw)
        except json.JSONDecodeError:
            parameters[name] = raw
    return parameters


def print_stats(app: Registration, run_id: Any) -> None:
    run = app.load_run(run_id)
    stats = app.lottery_stats(run_id)
    out = table(f"Lottery run {run.id} ({run.status})", ["", "value"], stats.render_rows())
    out.caption = f"seed {run.seed}, input position {run.input_position}, parameters {run.parameters}"
    console.print(out)


def print_replay(report: ReplayReport) -> None:
    """Both digests in full (for copying), then the verdict IDENTICAL or DIFFERENT."""
    console.print(
        f"replay of run {report.run_id} ({report.algorithm}, seed {report.seed}, position {report.position}; "
        f"numpy {report.recorded_numpy or 'not recorded'} then, {report.replayed_numpy} now):",
        soft_wrap=True,
    )
    for what, recorded, replayed in (
        ("input digest     ", report.recorded_input_digest, report.replayed_input_digest),
        ("assignment digest", report.recorded_digest, report.replayed_digest),
    ):
        console.print(f"  {what} recorded {recorded}", soft_wrap=True, highlight=False)
        console.print(f"  {what} replayed {replayed}", soft_wrap=True, highlight=False)
    verdict = "[green]IDENTICAL[/green]" if report.identical else "[red]DIFFERENT[/red]"
    console.print(f"replay: {verdict}")


@lottery_cli.command("start")
def start(
    program: str = typer.Argument(..., help="The program's slug."),
    seed: int | None = typer.Option(None, "--seed", help="Recorded with the run (default: drawn at random)."),
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A lottery parameter NAME=VALUE (repeatable).")
    ] = None,
    reason: str = typer.Option("", "--reason"),
    algorithm: str | None = typer.Option(
        None, "--algorithm", help="esp-weighted (default) or lsf-repair, or a versioned id (esp-weighted/1)."
    ),
) -> None:
    """Compute a lottery run from the log as it stands and record it (nothing is enrolled)."""
    parameters = _parameters(param or [])
    with services(catch_up=False) as built:
        app = built.app
        with console.status("computing the lottery..."):
            result = run_refusable(
                lambda: app.start_lottery(
                    program_id(program), admin_context(reason), parameters, seed, algorithm=algorithm
                )
            )
        console.print(
            f"run {result.ids['run_id']}: seed {result.ids['seed']}, {result.ids['assignments']} seats, "
            f"algorithm {result.ids['algorithm']}"
        )
        print_stats(app, parse_uuid(result.ids["run_id"], "run id"))


@lottery_cli.command("runs")
def runs(
    program: str = typer.Argument(..., help="The program's slug."), fmt: FormatOption = OutputFormat.table
) -> None:
    """A program's lottery runs, newest first: id, seed, status, seats assigned and enrolled
    (class-change runs: `regledger class-change runs`)."""
    with services() as built:
        listed = [(r, built.app.load_run(r.run_id).parameters) for r in built.views.lottery_runs(program_id(program))]
        found = [
            (r, parameters) for r, parameters in listed if parameters.get("kind") not in ("class_change", "admission")
        ]
        view = built.views.program(program_id(program))
    rows = [
        (
            r.run_id,
            r.status,
            recorded_algorithm(parameters),
            r.seed,
            r.assignments,
            r.enrolments,
            r.started_at,
            r.actor,
            r.ended_at,
            r.input_position,
        )
        for r, parameters in found
    ]
    listing = Listing(
        f"Lottery runs of {program}",
        cols(
            "run_id:run",
            "status",
            "algorithm",
            "seed",
            "assignments",
            "enrolments",
            "started_at:started",
            "actor:by",
            "ended_at:ended",
            Column("input_position", in_table=False),
        ),
        rows,
        caption=f"{len(rows)} runs; commit one with `regledger lottery commit RUN`",
        items="runs",
        about={"program": program},
        zone=zone_of(view.timezone) if view is not None else UTC,
    )
    emit(listing, fmt)


@lottery_cli.command("stats")
def stats(run: str = typer.Argument(..., help="The run id."), fmt: FormatOption = OutputFormat.table) -> None:
    """A run's recorded stats."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built:
        loaded = run_refusable(lambda: built.app.load_run(run_id))
        rows = run_refusable(lambda: built.app.lottery_stats(run_id)).render_rows()
    listing = Listing(
        f"Lottery run {loaded.id} ({loaded.status})",
        cols("label:", "value"),
        rows,
        caption=f"seed {loaded.seed}, input position {loaded.input_position}, parameters {loaded.parameters}",
        items="stats",
        about=_run_about(loaded),
    )
    emit(listing, fmt)


def _run_about(run: LotteryRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "program_id": run.program_id,
        "status": run.status,
        "seed": run.seed,
        "input_position": run.input_position,
        "algorithm": recorded_algorithm(run.parameters),
        "parameters": run.parameters,
    }


@lottery_cli.command("assignment")
def assignment(
    run: str = typer.Argument(..., help="The run id."),
    limit: int | None = typer.Option(None, "--limit", min=0, help="Rows to print (default: 50 in a table, all else)."),
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """A run's assignment (student key, section code, the priority level that won the seat),
    recomputed and checked against its digest."""
    run_id = parse_uuid(run, "RUN")
    with services() as built:
        loaded = run_refusable(lambda: built.app.load_run(run_id))
        result = run_refusable(lambda: built.app.lottery_assignment(run_id))
        shown = result.assignments[: limit if limit is not None else 50 if fmt is OutputFormat.table else None]
        reads = built.views
        students = reads.student_views(a.student_id for a in shown)
        sections = reads.sections_by_id(a.section_id for a in shown)
    rows = []
    for a in shown:
        student, section = students.get(a.student_id), sections.get(a.section_id)
        rows.append(
            (
                student.key if student else str(a.student_id),
                section.code if section else str(a.section_id),
                section.class_title if section else None,
                a.level,
                a.student_id,
                a.section_id,
            )
        )
    listing = Listing(
        f"Assignment of run {run_id}",
        cols(
            "student_key:student",
            "section_code:section",
            "class_title:class",
            "level",
            Column("student_id", in_table=False),
            Column("section_id", in_table=False),
        ),
        rows,
        caption=f"{len(result.assignments)} seats ({len(shown)} shown), digest {result.digest()}",
        items="assignments",
        about={**_run_about(loaded), "seats": len(result.assignments), "digest": result.digest()},
    )
    emit(listing, fmt)


@lottery_cli.command("commit")
def commit(
    run: str = typer.Argument(..., help="The run id."),
    replace: bool = typer.Option(False, "--replace", help="End every seat held in the program first."),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Turn a run's assignment into seats (all or nothing, once per program)."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built:
        with console.status("committing..."):
            result = run_refusable(lambda: built.app.commit_lottery(run_id, admin_context(reason), replace=replace))
        ended = result.ids.get("ended", "0")
        console.print(f"committed run {run_id}: {result.ids['assignments']} seats, {ended} ended, at {result.position}")


@lottery_cli.command("discard")
def discard(run: str = typer.Argument(..., help="The run id."), reason: str = typer.Option("", "--reason")) -> None:
    """Discard a run that was not committed."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built:
        run_refusable(lambda: built.app.discard_lottery(run_id, admin_context(reason)))
        console.print(f"discarded run {run_id}")


@lottery_cli.command("replay")
def replay(run: str = typer.Argument(..., help="The run id.")) -> None:
    """Recompute a run from its position, seed and parameters; exit 1 if it differs."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built:
        with console.status("replaying..."):
            report = run_refusable(lambda: built.app.replay_lottery(run_id))
        print_replay(report)
        if not report.identical:
            raise typer.Exit(1)


@lottery_cli.command("compare")
def compare(
    runs: Annotated[list[str], typer.Argument(help="Run ids, one column each.")],
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """Several runs' stats side by side."""
    run_ids = [parse_uuid(r, "RUN") for r in runs]
    with services(catch_up=False) as built:
        comparison = run_refusable(lambda: built.app.compare_runs(run_ids))
    columns = [Column("label", ""), *(Column(str(r), str(r)[:8]) for r in comparison.run_ids)]
    listing = Listing(
        "Lottery runs compared",
        columns,
        [(label, *values) for label, values in comparison.rows],
        items="stats",
        about={"run_ids": list(comparison.run_ids)},
    )
    emit(listing, fmt)
