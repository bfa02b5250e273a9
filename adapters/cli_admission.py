"""`regledger admission enter|join|leave|show|start|runs|stats|commit|discard|replay|admit|undo`:
Phase Zero, the program admission lottery with groups (runs of kind admission)."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import typer

from regledger.adapters.cli_address import student_address
from regledger.adapters.cli_common import admin_context, console, parse_uuid, run_refusable, services
from regledger.adapters.cli_lottery import print_replay
from regledger.adapters.cli_output import FormatOption, Listing, OutputFormat, cols, emit, emit_parts
from regledger.domain.ids import program_id
from regledger.domain.lottery.admission import KIND
from regledger.domain.values import check_timezone as zone_of

admission_cli = typer.Typer(
    no_args_is_help=True, help="Phase Zero: admission tickets and groups, admission runs, admissions."
)

StudentArg = Annotated[str, typer.Argument(help="The student: SLUG/KEY.")]
ReasonOption = Annotated[str, typer.Option("--reason")]
OverrideOption = Annotated[bool, typer.Option("--override", help="Skip the admission window (needs --reason).")]


@admission_cli.command("enter")
def enter(student: StudentArg, reason: ReasonOption = "", override: OverrideOption = False) -> None:
    """Enter a student in the admission lottery with a ticket of their own."""
    who = student_address(student)
    with services(catch_up=False) as built:
        ctx = admin_context(reason, override=override)
        result = run_refusable(lambda: built.app.enter_admission(who.program_id, who.key, ctx))
    console.print(f"{who} entered the admission lottery, at {result.position}")


@admission_cli.command("join")
def join(
    student: StudentArg,
    target: Annotated[str, typer.Argument(help="The key of an entrant whose group to join.")],
    reason: ReasonOption = "",
    override: OverrideOption = False,
) -> None:
    """Move a student into another entrant's group (up to the program's group size)."""
    who = student_address(student)
    with services(catch_up=False) as built:
        ctx = admin_context(reason, override=override)
        result = run_refusable(lambda: built.app.join_admission_group(who.program_id, who.key, target, ctx))
        view = built.app.show_admission_ticket(who.program_id, who.key)
    console.print(f"{who} is in {view.group_holder}'s group: {', '.join(view.members)}, at {result.position}")


@admission_cli.command("leave")
def leave(student: StudentArg, reason: ReasonOption = "", override: OverrideOption = False) -> None:
    """Take a student out of the group they joined; they keep a ticket of their own."""
    who = student_address(student)
    with services(catch_up=False) as built:
        ctx = admin_context(reason, override=override)
        result = run_refusable(lambda: built.app.leave_admission_group(who.program_id, who.key, ctx))
    console.print(f"{who} left the group, at {result.position}")


@admission_cli.command("show")
def show(student: StudentArg) -> None:
    """A student's ticket: their group, its members, and whether they are admitted."""
    who = student_address(student)
    with services(catch_up=False) as built:
        view = run_refusable(lambda: built.app.show_admission_ticket(who.program_id, who.key))
    if not view.entered:
        console.print(f"{who} has not entered the admission lottery; admitted: {'yes' if view.admitted else 'no'}")
        return
    members = ", ".join(view.members)
    console.print(
        f"{who}: {view.group_holder}'s group ({len(view.members)}/{view.group_size}): {members}; "
        f"admitted: {'yes' if view.admitted else 'no'}"
    )


def _caps(values: list[str]) -> dict[str, int]:
    caps: dict[str, int] = {}
    for text in values:
        grades, equals, cap = text.partition("=")
        if not equals or not cap.strip().isdigit():
            raise typer.BadParameter(f"{text!r}: a cap is GRADES=N, e.g. 7-8=300 or 9=120")
        caps[grades.strip()] = int(cap)
    return caps


@admission_cli.command("start")
def start(
    program: Annotated[str, typer.Argument(help="The program's slug.")],
    cap: Annotated[list[str], typer.Option("--cap", help="GRADES=N, repeated: 7-8=300 --cap 9-12=500.")],
    seed: Annotated[int | None, typer.Option("--seed", min=0, help="Recorded (default: drawn at random).")] = None,
    reason: ReasonOption = "",
) -> None:
    """Draw the tickets under the grade caps and record the run (nobody is admitted yet)."""
    caps = _caps(cap)
    with services(catch_up=False) as built:
        with console.status("drawing..."):
            result = run_refusable(
                lambda: built.app.start_admission(program_id(program), caps, admin_context(reason), seed=seed)
            )
        stats = built.app.admission_stats(parse_uuid(result.ids["run_id"], "run id"))
    run_id = result.ids["run_id"]
    console.print(
        f"run {run_id}: seed {result.ids['seed']}, {stats['winners']} of {stats['entrants']} "
        f"entrants in {stats['winning_tickets']} groups; commit with `regledger admission commit {run_id}`"
    )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


@admission_cli.command("runs")
def runs(
    program: Annotated[str, typer.Argument(help="The program's slug.")], fmt: FormatOption = OutputFormat.table
) -> None:
    """A program's admission runs, newest first."""
    with services() as built:
        listed = built.views.lottery_runs(program_id(program))
        found = [r for r in listed if built.app.load_run(r.run_id).parameters.get("kind") == KIND]
        view = built.views.program(program_id(program))
    rows = [(r.run_id, r.status, r.seed, r.assignments, r.enrolments, r.started_at, r.actor) for r in found]
    listing = Listing(
        f"Admission runs of {program}",
        cols(
            "run_id:run",
            "status",
            "seed",
            "assignments:winners",
            "enrolments:admitted",
            "started_at:started",
            "actor:by",
        ),
        rows,
        caption=f"{len(rows)} runs; commit one with `regledger admission commit RUN`",
        items="runs",
        about={"program": program},
        zone=zone_of(view.timezone) if view is not None else UTC,
    )
    emit(listing, fmt)


@admission_cli.command("stats")
def stats(run: Annotated[str, typer.Argument(help="The run id.")], fmt: FormatOption = OutputFormat.table) -> None:
    """A run's entrants, winners and acceptance rate per grade, and its grade buckets."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built:
        found = run_refusable(lambda: built.app.admission_stats(run_id))
    grades = Listing(
        f"Admission run {run_id} ({found['status']}, seed {found['seed']})",
        cols("grade", "entrants", "winners", "admitted_before:before", "acceptance"),
        [
            (g["grade"], g["entrants"], g["winners"], g["admitted_before"], _rate(g["acceptance_rate"]))
            for g in found["grades"]
        ],
        caption=(
            f"{found['winners']} of {found['entrants']} entrants admitted ({_rate(found['acceptance_rate'])}), "
            f"{found['winning_tickets']} of {found['tickets']} groups"
        ),
        items="grades",
    )
    buckets = Listing(
        "Grade buckets",
        cols("grades", "cap", "admitted_before:before", "admitted_after:after"),
        [(b["grades"], b["cap"], b["admitted_before"], b["admitted_after"]) for b in found["buckets"]],
        items="buckets",
    )
    emit_parts([grades, buckets], fmt, {"run_id": str(run_id), **found})


@admission_cli.command("commit")
def commit(run: Annotated[str, typer.Argument(help="The run id.")], reason: ReasonOption = "") -> None:
    """Admit every member of every winning group (all or nothing, once)."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built, console.status("committing..."):
        result = run_refusable(lambda: built.app.commit_admission(run_id, admin_context(reason)))
    console.print(f"committed run {run_id}: {result.ids.get('admitted', '0')} students admitted, at {result.position}")


@admission_cli.command("discard")
def discard(run: Annotated[str, typer.Argument(help="The run id.")], reason: ReasonOption = "") -> None:
    """Discard a run that was not committed."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built:
        run_refusable(lambda: built.app.discard_admission(run_id, admin_context(reason)))
    console.print(f"discarded run {run_id}")


@admission_cli.command("replay")
def replay(run: Annotated[str, typer.Argument(help="The run id.")]) -> None:
    """Recompute a run from its position, seed and caps; IDENTICAL or DIFFERENT (exit 1)."""
    run_id = parse_uuid(run, "RUN")
    with services(catch_up=False) as built, console.status("replaying..."):
        report = run_refusable(lambda: built.app.replay_admission(run_id))
    print_replay(report)
    if not report.identical:
        raise typer.Exit(1)


@admission_cli.command("admit")
def admit(
    program: Annotated[str, typer.Argument(help="The program's slug.")],
    keys: Annotated[list[str], typer.Argument(help="Student keys (each must have entered).")],
    groups: Annotated[bool, typer.Option("--groups", help="Admit each student's whole group.")] = False,
    reason: ReasonOption = "",
) -> None:
    """Admit a list of entrants by hand (caps are not checked)."""
    with services(catch_up=False) as built:
        ctx = admin_context(reason)
        result = run_refusable(lambda: built.app.admit_students(program_id(program), keys, ctx, groups=groups))
    console.print(f"{result.ids.get('admitted', '0')} students admitted, at {result.position}")


@admission_cli.command("undo")
def undo(
    program: Annotated[str, typer.Argument(help="The program's slug.")],
    keys: Annotated[list[str] | None, typer.Argument(help="Student keys whose admission no longer holds.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Also every admission of this committed run.")] = None,
    reason: ReasonOption = "",
) -> None:
    """Undo admissions (recorded as an event; the history keeps the admission)."""
    run_id = parse_uuid(run, "RUN") if run else None
    with services(catch_up=False) as built:
        ctx = admin_context(reason)
        result = run_refusable(lambda: built.app.undo_admissions(program_id(program), keys or [], ctx, run_id=run_id))
    console.print(f"{result.ids.get('undone', '0')} admissions undone, at {result.position}")
