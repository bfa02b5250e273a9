"""The audit log's query API: a program's events, filtered and paged by position.

Rows come back with the names of what they concern (the student's key and name, the section's
code, the class's code and title) as the views know them when read, and a one-line summary
made from those, so every reader (API, CSV, page, CLI) says the same thing. Paging is by log
position (keyset): `after` is the position of the last row of the page before, in the page's
order -- newest first by default (`position < after`), oldest first on request
(`position > after`) -- so a page costs the same wherever it is in the log.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

MAX_LIMIT = 1000


@dataclass(frozen=True)
class AuditQuery:
    """Which events (all filters together); `kinds`: qualified event kinds, any of them."""

    student_id: UUID | None = None
    section_id: UUID | None = None
    actor: str | None = None
    kinds: tuple[str, ...] = ()
    since: datetime | None = None  # recorded at or after
    until: datetime | None = None  # recorded before
    after: int | None = None  # the position the page follows (in its order)
    limit: int = 100
    oldest_first: bool = False


@dataclass(frozen=True)
class AuditEntry:
    """One event as the audit shows it; names are None where the views do not know the id."""

    position: int
    recorded_at: datetime
    event_kind: str
    aggregate_id: UUID
    actor: str
    reason: str
    cause: str
    command_id: str
    student_id: UUID | None
    student_key: str | None
    student_name: str | None
    section_id: UUID | None
    section_code: str | None
    subject_id: UUID | None
    class_code: str | None
    class_title: str | None
    related_id: UUID | None
    related_code: str | None  # the related section's code (a switch's first section)
    detail: str

    @property
    def aggregate_kind(self) -> str:
        return self.event_kind.partition(".")[0]

    @property
    def summary(self) -> str:
        return summary(self)


class AuditViews(ABC):
    """The audit log's queries (implemented in SQL beside the registration views)."""

    @abstractmethod
    def audit(self, program_id: UUID, query: AuditQuery) -> list[AuditEntry]:
        """The program's events that pass `query`, in its order, at most `query.limit`."""


def _humane(kind: str) -> str:
    """'Section.CapacityChanged' -> 'Capacity changed'."""
    words = re.findall(r"[A-Z][a-z]*|[a-z]+|\d+", kind.rpartition(".")[2])
    text = " ".join(words).capitalize()
    return text or kind


def summary(e: AuditEntry) -> str:
    """A short human line, e.g. "Enrolled s0012 in M101s1"."""
    who = e.student_key or (str(e.student_id)[:8] if e.student_id else "")
    where = e.section_code or e.class_code or (str(e.section_id)[:8] if e.section_id else "")
    match e.event_kind:
        case "Student.SectionRegistered":
            return f"{e.detail} {who} in {where}"
        case "Student.RegistrationEnded":
            return f"Ended {e.detail} of {who} in {where}"
        case "Student.SectionSwitched":
            return f"Switched {who} from {e.related_code or str(e.related_id)[:8]} to {where}"
        case "Student.SubjectStarred":
            return f"{who} starred {e.class_code or where}"
        case "Student.SubjectUnstarred":
            return f"{who} unstarred {e.class_code or where}"
        case "Section.StudentEnrolled":
            return f"{who} took a seat in {where}" + (" (override)" if e.detail == "override" else "")
        case "Section.StudentUnenrolled":
            return f"{who} gave up a seat in {where}"
        case "Section.StudentWaitlisted":
            return f"{who} joined the waitlist of {where}"
        case "Section.StudentLeftWaitlist":
            return f"{who} left the waitlist of {where}"
        case "Section.WaitlistPassedOver":
            return f"{who} passed over on the waitlist of {where} ({e.detail})"
        case "Section.WaitlistPlaceReady":
            return f"{who} can now take the next free seat in {where}"
    named = " ".join(part for part in (who, where) if part)
    text = _humane(e.event_kind) + (f": {named}" if named else "")
    return text + (f" ({e.detail})" if e.detail else "")


__all__ = ["MAX_LIMIT", "AuditEntry", "AuditQuery", "AuditViews", "summary"]
