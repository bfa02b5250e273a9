"""Class-change requests: a student's whole set of `Request`/`Request/N` registrations, replaced
at once (ESP's `ClassChangeRequestModule`, docs/esp-reference.md §10.2), the input of the
class-change lottery (`class_change_commands.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from regledger.domain import rules
from regledger.domain.errors import (
    AlreadyInClass,
    DuplicateRequestPriority,
    InvalidInputError,
    LunchNotRequestable,
    NotScheduled,
    PriorityLimit,
    TooManyRequests,
)
from regledger.domain.ids import ProgramId, SectionId, student_id
from regledger.domain.runner import CommandResult, command
from regledger.domain.student import Student
from regledger.domain.student_commands import student_for
from regledger.domain.values import ENROLLED, STUDENT_CATEGORY, CommandContext

if TYPE_CHECKING:
    from regledger.domain.application import Registration
    from regledger.domain.program import Program
    from regledger.domain.section import Section
    from regledger.domain.subject import Subject

REQUEST = "Request"
REQUEST_PREFIX = "Request/"
WINDOW = "class_change"
# A student's requests are bounded: the run's input and every check stay small.
MAX_REQUESTS = 24


def request_verb(level: int | None) -> str:
    """`Request/N` for a priority, plain `Request` for none (ESP's "no priority")."""
    return REQUEST if level is None else f"{REQUEST_PREFIX}{level}"


def request_level_of(verb: str) -> int | None:
    """0 for plain `Request`, N for `Request/N`, None for any other verb (`Priority/N` included)."""
    if verb == REQUEST:
        return 0
    if verb.startswith(REQUEST_PREFIX) and verb[len(REQUEST_PREFIX) :].isdigit():
        return int(verb[len(REQUEST_PREFIX) :])
    return None


def current_requests(student: Student) -> dict[SectionId, str]:
    """The student's Request* registrations: section -> verb."""
    return {s: v for (s, v) in student.registrations if request_level_of(v) is not None}


@command
def request_changes(
    app: Registration,
    program_id: ProgramId,
    student_key: str,
    requests: Mapping[SectionId, int | None],
    ctx: CommandContext,
) -> CommandResult:
    """Replace the student's class-change requests with `requests` (section -> priority, None
    for no priority): removed ones end ("request_withdrawn"), new ones are registered
    ("request"), unchanged ones stay; one save. An empty mapping withdraws every request.

    Checks, in order (the first that fails refuses, nothing written): the class-change window,
    program cap and profile (`rules.check_entry`); at most MAX_REQUESTS; then per section in
    the given order: in this program, scheduled, open and not cancelled, class accepted and in
    the student's grades, not lunch, no section of a class the student is enrolled in, the
    priority 1..priority_limit; last, no two requests of one priority sharing a timeslot."""
    if not isinstance(requests, Mapping):
        raise InvalidInputError("requests must map section ids to a priority or null")
    app.prefetch(program_id, student_id(program_id, student_key), *requests)
    app.prefetch(*(app.subject_hint(s) for s in requests))
    program = app.load_program(program_id)
    student = student_for(app, program, student_key, ctx)
    if replayed := app.replayed(ctx, student):
        return replayed
    admitted = rules.check_entry(program, student, ctx, WINDOW, app.clock())
    if len(requests) > MAX_REQUESTS:
        raise TooManyRequests(
            f"You can request at most {MAX_REQUESTS} sections.", limit=MAX_REQUESTS, requested=len(requests)
        )
    wanted: dict[SectionId, tuple[Section, Subject, str]] = {}
    for section_id, level in requests.items():
        section = app.load_section(section_id, program)
        subject = app.load_subject(section.subject_id, program)
        check_request(program, section, subject, student, ctx, level)
        wanted[section_id] = (section, subject, request_verb(level))
    check_one_per_level(wanted)
    held = current_requests(student)
    for section_id, verb in sorted(held.items()):
        if section_id not in wanted or wanted[section_id][2] != verb:
            student.end(section_id, [verb], cause="request_withdrawn", audit=ctx.audit())
    new_verbs = sorted({verb for sid, (_, _, verb) in wanted.items() if held.get(sid) != verb})
    catalogue = app.ensure_verbs(new_verbs, STUDENT_CATEGORY, ctx)
    for section_id, (section, subject, verb) in wanted.items():
        if held.get(section_id) != verb:
            student.register(rules.section_ref(section, subject), verb, cause="request", audit=ctx.audit())
    ids = {"student_id": str(student.id), "requests": str(len(wanted))}
    result = app.commit(ctx, student, admitted, catalogue, ids=ids)
    app.remember_verbs(new_verbs, STUDENT_CATEGORY)
    return result


def check_request(
    program: Program, section: Section, subject: Subject, student: Student, ctx: CommandContext, level: int | None
) -> None:
    """One requested section, in the order `request_changes` documents."""
    if not section.is_scheduled:
        raise NotScheduled("This section is not scheduled yet, so it cannot be requested.", section_id=str(section.id))
    refusal = section.status_refusal()
    if refusal is not None:
        raise refusal
    rules.check_subject(program, subject, student, ctx)
    if subject.is_lunch:
        raise LunchNotRequestable("Lunch cannot be requested in a class change.", section_id=str(section.id))
    for held in student.holding(ENROLLED):
        if held.subject_id == subject.subject_id:
            raise AlreadyInClass(
                "You are already signed up for a section of this class!", section_id=str(held.section_id)
            )
    if level is not None:
        limit = program.settings.priority_limit
        if isinstance(level, bool) or not isinstance(level, int):
            raise InvalidInputError("A request's priority is an integer or null", priority=repr(level))
        if not 1 <= level <= limit:
            raise PriorityLimit(f"A request's priority is between 1 and {limit}.", limit=limit, priority=level)


def check_one_per_level(wanted: Mapping[SectionId, tuple[Section, Subject, str]]) -> None:
    """Two requests of one priority may not share a timeslot (a first choice is one choice)."""
    seen: dict[tuple[str, object], SectionId] = {}
    for section_id, (section, _, verb) in wanted.items():
        if verb == REQUEST:
            continue
        for slot in section.timeslot_ids:
            other = seen.setdefault((verb, slot), section_id)
            if other != section_id:
                raise DuplicateRequestPriority(
                    "Two requests with the same priority share a timeslot.",
                    verb=verb,
                    section_ids=[str(other), str(section_id)],
                )


__all__ = ["MAX_REQUESTS", "REQUEST", "current_requests", "request_changes", "request_level_of", "request_verb"]
