"""`regledger enroll|drop|switch|waitlist SLUG/KEY SECTION`: a registrar acting for a student.

The rules are the students' own; `--override` (with `--reason`) is an admin's exception to
them. A section code alone (`M101s1`) is looked up in the student's program.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from regledger.adapters.cli_address import SECTION_HELP, STUDENT_HELP, StudentAddress, section_address, student_address
from regledger.adapters.cli_common import (
    IdempotencyKeyOption,
    OverrideOption,
    ReasonOption,
    admin_context,
    done,
    run_refusable,
    services,
)
from regledger.adapters.cli_lookup import section_aggregate, section_name
from regledger.domain.application import Registration
from regledger.domain.ids import SectionId
from regledger.domain.values import ENROLLED, CommandContext

StudentArgument = Annotated[str, typer.Argument(help=STUDENT_HELP)]
SectionArgument = Annotated[str, typer.Argument(help=SECTION_HELP)]


def _section(app: Registration, who: StudentAddress, text: str) -> tuple[SectionId, str]:
    """The section's id and `M101s1 Algebra I`; it must be in the student's program."""
    address = section_address(text, who.slug if "/" not in text else None)
    section = section_aggregate(app, address, run_refusable(lambda: app.load_program(who.program_id)))
    return section.section_id, section_name(app, section)


@contextmanager
def _acting_for(
    student: str, sections: list[str], reason: str, idempotency_key: str | None, override: bool
) -> Iterator[tuple[Registration, StudentAddress, CommandContext, list[tuple[SectionId, str]]]]:
    """The application, the student, the admin context and each section's id and name."""
    who = student_address(student)
    ctx = admin_context(reason, idempotency_key, override=override)
    with services(catch_up=False) as built:
        yield built.app, who, ctx, [_section(built.app, who, text) for text in sections]


def enroll(
    student: StudentArgument,
    section: SectionArgument,
    verb: Annotated[str, typer.Option("--verb", help="The registration verb.")] = ENROLLED,
    replace: Annotated[
        bool, typer.Option("--replace", help="Drop the sections this one conflicts with, in the same command.")
    ] = False,
    override: OverrideOption = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Register a student for a section (default: Enrolled, taking a seat)."""
    with _acting_for(student, [section], reason, idempotency_key, override) as (app, who, ctx, [(sid, name)]):
        result = run_refusable(lambda: app.add_section(who.program_id, who.key, sid, ctx, verb, replace=replace))
    recorded = result.ids.get("verb", verb)
    replaced = f", replacing {len(result.ids['replaced'].split(','))} section(s)" if result.ids.get("replaced") else ""
    promoted = f"; promoted from waitlists: {result.ids['promoted']}" if result.ids.get("promoted") else ""
    done(result, f"{who} ({who.student_id}) {recorded} in {name} (id {sid}){replaced}{promoted}")


def drop(
    student: StudentArgument,
    section: SectionArgument,
    verb: Annotated[
        list[str] | None, typer.Option("--verb", help="Verbs to end (default: the program's visible ones).")
    ] = None,
    override: OverrideOption = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """End a student's registration on a section; freed seats go to the waitlist."""
    with _acting_for(student, [section], reason, idempotency_key, override) as (app, who, ctx, [(sid, name)]):
        result = run_refusable(lambda: app.drop_section(who.program_id, who.key, sid, ctx, verb or None))
    ended = result.ids.get("ended") or "nothing"
    promoted = result.ids.get("promoted")
    done(
        result,
        f"dropped {who} ({who.student_id}) from {name} (id {sid}): ended {ended}"
        + (f"; promoted from the waitlist: {promoted}" if promoted else ""),
    )


def switch(
    student: StudentArgument,
    from_section: Annotated[str, typer.Argument(help=f"From: {SECTION_HELP}")],
    to_section: Annotated[str, typer.Argument(help=f"To: {SECTION_HELP}")],
    override: OverrideOption = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Move a student's seat between two sections of one class, atomically."""
    with _acting_for(student, [from_section, to_section], reason, idempotency_key, override) as (app, who, ctx, found):
        (old, old_name), (new, new_name) = found
        result = run_refusable(lambda: app.switch_sections(who.program_id, who.key, old, new, ctx))
    done(result, f"switched {who} ({who.student_id}) from {old_name} (id {old}) to {new_name} (id {new})")


def waitlist(
    student: StudentArgument,
    section: SectionArgument,
    override: OverrideOption = False,
    reason: ReasonOption = "",
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """Put a student on a full section's waitlist."""
    with _acting_for(student, [section], reason, idempotency_key, override) as (app, who, ctx, [(sid, name)]):
        result = run_refusable(lambda: app.join_waitlist(who.program_id, who.key, sid, ctx))
    done(result, f"waitlisted {who} ({who.student_id}) for {name} (id {sid}), place {result.ids.get('place', '?')}")


def unenroll_all(
    student: StudentArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why (required; recorded on every event).")],
    idempotency_key: IdempotencyKeyOption = None,
) -> None:
    """End every visible registration of a student in the program (seats and waitlist places)."""
    with _acting_for(student, [], reason, idempotency_key, False) as (app, who, ctx, _):
        result = run_refusable(lambda: app.unenroll_all(who.program_id, who.key, ctx))
    promoted = result.ids.get("promoted")
    done(
        result,
        f"unenrolled {who} ({who.student_id}): ended {result.ids.get('ended', '0')} registrations on "
        f"{result.ids.get('sections', '0')} sections"
        + (f"; promoted from the waitlists: {promoted}" if promoted else ""),
    )
