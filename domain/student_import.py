"""Bulk import of a program's students: each registered and their profile submitted, in one save.

A new key becomes a `Student` (Registered, ProfileSubmitted); a known one gets a new profile
only when its name, graduation year or email differs. Every entry is checked first and every
error is reported with its line; nothing is written unless there is none.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from regledger.domain.audited import AuditedAggregate
from regledger.domain.ids import ProgramId, student_id
from regledger.domain.imports import ImportResult, Plan, at_line
from regledger.domain.runner import CommandResult, command
from regledger.domain.student import Profile, Student
from regledger.domain.values import CommandContext, check_key, check_text

if TYPE_CHECKING:
    from regledger.domain.application import Registration

MAX_STUDENTS = 50_000
YEARS = (1900, 2200)
EMAIL = "email"
# One @ with something on each side and no spaces: a typo check, not a deliverability one.
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


@dataclass(frozen=True)
class StudentEntry:
    """A student by key, with the profile the import submits (email None: no email contact)."""

    key: str
    name: str
    graduation_year: int
    email: str | None = None
    line: int | None = None


@command
def import_students(
    app: Registration,
    program_id_: ProgramId,
    students: Sequence[StudentEntry],
    ctx: CommandContext,
    *,
    dry_run: bool = False,
) -> ImportResult:
    """Register new students and submit every changed profile in ONE save; a dry run answers
    the plan and writes nothing. Refused whole (`invalid_input`, every error with its line)."""
    plan = Plan(("student",))
    if len(students) > MAX_STUDENTS:
        plan.error(None, "students", f"an import holds at most {MAX_STUDENTS} students, this one {len(students)}")
    plan.refuse_if_errors("student list")
    with app.bulk_work():
        valid = _valid_entries(students, plan)
        ids = {e.key: student_id(program_id_, e.key) for e in valid}
        app.prefetch(program_id_, *ids.values())  # one read of the log
        program = app.load_program(program_id_)
        found = {key: s for key, i in ids.items() if (s := app.find(Student, i)) is not None}
        result_ids = {"program_id": str(program.id)}
        done = next((s for s in found.values() if s.has_applied(ctx.command_id)), None)
        if done is not None:
            plan.notes.append("This Idempotency-Key was used already: nothing was written now.")
            return plan.result(app.replay(ctx, done, result_ids), dry_run=dry_run, outcome="Imported")
        touched: list[AuditedAggregate] = []
        for entry in valid:
            student = _plan_student(program_id_, entry, found.get(entry.key), plan, ctx)
            if student is not None:
                touched.append(student)
        plan.refuse_if_errors("student list")
        if dry_run or not touched:
            base = CommandResult(ctx.command_id, "DryRun" if dry_run else "Unchanged", app.position(), ids=result_ids)
            return plan.result(base, dry_run=dry_run)
        saved = app.commit(ctx, touched[0], *touched[1:], ids=result_ids)
        return plan.result(saved, dry_run=False, outcome="Imported")


def _valid_entries(entries: Sequence[StudentEntry], plan: Plan) -> list[StudentEntry]:
    """The entries whose fields pass the checks, each key once (a repeated key is an error)."""
    seen: dict[str, int | None] = {}
    kept = []
    for entry in entries:
        errors = len(plan.errors)
        line = entry.line
        plan.attempt(line, "key", check_key, entry.key, "key")
        plan.attempt(line, "name", check_text, entry.name, "name", max_length=200)
        if not YEARS[0] <= entry.graduation_year <= YEARS[1]:
            plan.error(line, "graduation_year", f"graduation_year must be between {YEARS[0]} and {YEARS[1]}")
        email = entry.email
        if (
            email is not None
            and plan.attempt(line, "email", check_text, email, "email", max_length=200)
            and not _EMAIL.fullmatch(email)
        ):
            plan.error(line, "email", f"email {entry.email!r} is not an address (name@domain)")
        if entry.key in seen:
            plan.error(line, "key", f"student {entry.key} is listed twice (first at {at_line(seen[entry.key])})")
        elif len(plan.errors) == errors:
            seen[entry.key] = line
            kept.append(entry)
    return kept


def _plan_student(
    program_id_: ProgramId, entry: StudentEntry, student: Student | None, plan: Plan, ctx: CommandContext
) -> Student | None:
    """The student to save (new, or with a new profile), or None when nothing changes."""
    audit = ctx.audit()
    if student is None:
        student = Student(program_id=program_id_, student_key=entry.key, **audit)
        contacts = {EMAIL: entry.email} if entry.email else {}
        if plan.attempt(entry.line, "name", student.submit_profile, entry.name, entry.graduation_year, contacts, audit):
            plan.record("student", entry.key, "created", entry.line)
        return student
    profile = student.profile
    contacts = dict(profile.contacts) if profile is not None else {}
    contacts.pop(EMAIL, None)  # the import owns the email contact; others are kept
    if entry.email:
        contacts[EMAIL] = entry.email
    if profile is not None and (profile.name, profile.graduation_year, profile.contacts) == (
        entry.name,
        entry.graduation_year,
        contacts,
    ):
        plan.record("student", entry.key, "unchanged", entry.line)
        return None
    changed = _changed_fields(profile, entry, contacts)
    if not plan.attempt(entry.line, "name", student.submit_profile, entry.name, entry.graduation_year, contacts, audit):
        return None
    plan.record("student", entry.key, "changed", entry.line, changed)
    return student


def _changed_fields(profile: Profile | None, entry: StudentEntry, contacts: dict[str, str]) -> list[str]:
    if profile is None:
        return ["name", "graduation_year", EMAIL]
    pairs = (
        ("name", profile.name, entry.name),
        ("graduation_year", profile.graduation_year, entry.graduation_year),
        (EMAIL, profile.contacts, contacts),
    )
    return [name for name, old, new in pairs if old != new]
