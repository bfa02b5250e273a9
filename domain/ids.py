"""Identifiers: typed UUIDs, deterministic where creation must be idempotent."""

from __future__ import annotations

from functools import lru_cache
from typing import NewType
from uuid import UUID, uuid5

ProgramId = NewType("ProgramId", UUID)
SubjectId = NewType("SubjectId", UUID)
SectionId = NewType("SectionId", UUID)
StudentId = NewType("StudentId", UUID)
TimeslotId = NewType("TimeslotId", UUID)
ConstraintId = NewType("ConstraintId", UUID)
LotteryRunId = NewType("LotteryRunId", UUID)

# Fixed forever: every deterministic id in every store derives from it.
NAMESPACE = UUID("5b0c1e39-2f4e-4d8a-9a57-6a3f0c2d7e11")


# Bounded so a long-lived process reading an ever-growing log cannot grow without limit; a
# Splash-sized program names about 5,000 ids, so the bound is never reached in practice.
MAX_CACHED_IDS = 200_000

_uuids: dict[str, UUID] = {}


def uuid_from_hex(text: str) -> UUID:
    """UUID(text), shared per distinct text: a log names the same few thousand ids over and
    over, and UUIDs are immutable (the one id cache of every reader of stored events)."""
    found = _uuids.get(text)
    if found is None:
        found = UUID(text)  # validates, as the library's decoding does
        if len(_uuids) >= MAX_CACHED_IDS:
            _uuids.clear()
        _uuids[text] = found
    return found


def program_id(slug: str) -> ProgramId:
    return ProgramId(uuid5(NAMESPACE, f"program/{slug}"))


def timeslot_id(program: ProgramId, label: str) -> TimeslotId:
    return TimeslotId(uuid5(program, f"timeslot/{label}"))


def subject_id(program: ProgramId, code: str) -> SubjectId:
    return SubjectId(uuid5(program, f"subject/{code}"))


def section_id(subject: SubjectId, index: int) -> SectionId:
    return SectionId(uuid5(subject, f"section/{index}"))


@lru_cache(maxsize=65_536)
def student_id(program: ProgramId, student_key: str) -> StudentId:
    """One Student aggregate per (program, student key). Cached: every student command derives
    it several times, and `uuid5` is a SHA-1."""
    return StudentId(uuid5(program, f"student/{student_key}"))


def constraint_id(program: ProgramId, label: str) -> ConstraintId:
    return ConstraintId(uuid5(program, f"constraint/{label}"))


def registration_types_id(category: str) -> UUID:
    return uuid5(NAMESPACE, f"registration-types/{category}")
