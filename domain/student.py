"""The Student aggregate: one student in one program — profile, registrations, stars, rankings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.domain import event

from regledger.domain.audited import AuditedAggregate
from regledger.domain.errors import (
    AlreadyInClass,
    AlreadyRegistered,
    InvalidInputError,
    NotCheckedIn,
    NotRegistered,
    NotStarred,
    RegistrationError,
    TimeslotConflict,
)
from regledger.domain.ids import ProgramId, SectionId, StudentId, SubjectId, TimeslotId, student_id
from regledger.domain.values import (
    ENROLLED,
    SectionRef,
    check_text,
    priority_verb,
    registration_priority,
)

ALREADY_IN_CLASS_MESSAGE = "You are already signed up for a section of this class!"
CONFLICT_OTHER_SECTIONS_MESSAGE = "This section conflicts with your schedule--check out the other sections!"
CONFLICT_MESSAGE = "This class conflicts with your schedule!"


@dataclass(frozen=True)
class Profile:
    name: str
    graduation_year: int
    contacts: dict[str, str]


@dataclass(frozen=True)
class Holding:
    """A current (not yet ended) relationship between the student and a section."""

    section: SectionRef
    verb: str
    cause: str


class Student(AuditedAggregate):
    """Registrations are keyed by (section, verb); only Enrolled takes a seat (on Section)."""

    class Registered(AuditedAggregate.Created):
        program_id: ProgramId
        student_key: str

    class ProfileSubmitted(AuditedAggregate.Event):
        name: str
        graduation_year: int
        contacts: dict[str, str]

    class SectionRegistered(AuditedAggregate.Event):
        section: SectionRef
        verb: str
        cause: str
        lottery_run_id: UUID | None

    class RegistrationEnded(AuditedAggregate.Event):
        section_id: SectionId
        verb: str
        cause: str

    class SectionSwitched(AuditedAggregate.Event):
        from_section_id: SectionId
        to_section: SectionRef

    class SubjectStarred(AuditedAggregate.Event):
        subject_id: SubjectId

    class SubjectUnstarred(AuditedAggregate.Event):
        subject_id: SubjectId

    class PrioritiesRanked(AuditedAggregate.Event):
        timeslot_id: TimeslotId
        ranked: tuple[SectionRef | None, ...]
        previous: tuple[SectionRef | None, ...]

    class PreferencesConfirmed(AuditedAggregate.Event):
        stars: int

    class CheckedIn(AuditedAggregate.Event):
        """The student arrived on the day (onsite check-in)."""

    class CheckInUndone(AuditedAggregate.Event):
        """A check-in recorded by mistake, taken back."""

    @staticmethod
    def create_id(program_id: ProgramId, student_key: str) -> UUID:
        return student_id(program_id, student_key)

    @event(Registered)
    def __init__(self, program_id: ProgramId, student_key: str, actor: str, command_id: str, reason: str) -> None:
        self.program_id = program_id
        self.student_key = student_key
        self.profile: Profile | None = None
        self.registrations: dict[tuple[SectionId, str], Holding] = {}
        self.stars: set[SubjectId] = set()
        self.rankings: dict[TimeslotId, tuple[SectionRef | None, ...]] = {}
        self.confirmed = False
        self.checked_in = False

    @property
    def student_id(self) -> StudentId:
        return StudentId(self.id)

    @property
    def graduation_year(self) -> int | None:
        return self.profile.graduation_year if self.profile else None

    @property
    def has_joined(self) -> bool:
        """The reference counts a student as in the program from any registration or star."""
        return bool(self.registrations or self.stars)

    # -- queries --------------------------------------------------------------------------

    def holding(self, verb: str) -> list[SectionRef]:
        return [r.section for (_, v), r in sorted(self.registrations.items()) if v == verb]

    def verbs_on(self, section_id: SectionId) -> list[str]:
        return sorted(v for (s, v) in self.registrations if s == section_id)

    def enrolled_in(self, section_id: SectionId) -> bool:
        return (section_id, ENROLLED) in self.registrations

    def conflict_refusal(
        self, target: SectionRef, *, other_sections_exist: bool, ignoring: SectionId | None = None
    ) -> RegistrationError | None:
        """Same class or a shared timeslot with an Enrolled section (the reference's 6.1 step 3)."""
        wanted = set(target.timeslot_ids)
        for held in self.holding(ENROLLED):
            if held.section_id == ignoring:
                continue
            if held.subject_id == target.subject_id:
                return AlreadyInClass(ALREADY_IN_CLASS_MESSAGE, section_id=str(held.section_id))
            if wanted.intersection(held.timeslot_ids):
                message = CONFLICT_OTHER_SECTIONS_MESSAGE if other_sections_exist else CONFLICT_MESSAGE
                return TimeslotConflict(message, conflicting_section_id=str(held.section_id))
        return None

    def conflicts_with(self, target: SectionRef) -> list[SectionRef]:
        """The Enrolled sections an add of `target` conflicts with: the same class, or a shared
        timeslot (the reference's `get_conflicts`, what a replacement drops)."""
        wanted = set(target.timeslot_ids)
        return [
            held
            for held in self.holding(ENROLLED)
            if held.section_id != target.section_id
            and (held.subject_id == target.subject_id or wanted.intersection(held.timeslot_ids))
        ]

    def priority_level(self, timeslot_ids: Iterable[TimeslotId]) -> int:
        """0 if Enrolled in one of the timeslots, else the smallest N with no Priority/N there."""
        held = ((r.verb, r.section.timeslot_ids) for r in self.registrations.values())
        return registration_priority(held, timeslot_ids)

    # -- commands -------------------------------------------------------------------------

    def submit_profile(self, name: str, graduation_year: int, contacts: dict[str, str], audit: dict[str, str]) -> None:
        check_text(name, "name", max_length=200)
        if not 1900 <= graduation_year <= 2200:
            raise InvalidInputError("graduation_year is not plausible", graduation_year=graduation_year)
        if any(not isinstance(k, str) or not isinstance(v, str) for k, v in contacts.items()):
            raise InvalidInputError("contacts must map strings to strings")
        for kind, contact in contacts.items():
            check_text(kind, "contact kind", max_length=64)
            check_text(contact, f"contact {kind}", max_length=200, blank=True)
        self._profile_submitted(name=name, graduation_year=graduation_year, contacts=dict(contacts), **audit)

    def register(
        self,
        section: SectionRef,
        verb: str,
        *,
        cause: str,
        audit: dict[str, str],
        lottery_run_id: UUID | None = None,
    ) -> None:
        if (section.section_id, verb) in self.registrations:
            raise AlreadyRegistered(
                f"You already hold '{verb}' on this section.", section_id=str(section.section_id), verb=verb
            )
        self._section_registered(section=section, verb=verb, cause=cause, lottery_run_id=lottery_run_id, **audit)

    def end(self, section_id: SectionId, verbs: Sequence[str], *, cause: str, audit: dict[str, str]) -> list[str]:
        """End the listed verbs held on the section; refuses if none is held."""
        held = [v for v in verbs if (section_id, v) in self.registrations]
        if not held:
            raise NotRegistered(
                "You are not registered for this section.", section_id=str(section_id), verbs=list(verbs)
            )
        for verb in held:
            self._registration_ended(section_id=section_id, verb=verb, cause=cause, **audit)
        return held

    def switch(self, from_section_id: SectionId, to_section: SectionRef, audit: dict[str, str]) -> None:
        self._section_switched(from_section_id=from_section_id, to_section=to_section, **audit)

    def star(self, subject_id: SubjectId, audit: dict[str, str]) -> None:
        if subject_id not in self.stars:
            self._subject_starred(subject_id=subject_id, **audit)

    def unstar(self, subject_id: SubjectId, audit: dict[str, str]) -> None:
        if subject_id not in self.stars:
            raise NotStarred("This class is not starred.", subject_id=str(subject_id))
        self._subject_unstarred(subject_id=subject_id, **audit)

    def rank(self, timeslot_id: TimeslotId, ranked: Sequence[SectionRef | None], audit: dict[str, str]) -> None:
        previous = self.rankings.get(timeslot_id, ())
        self._priorities_ranked(timeslot_id=timeslot_id, ranked=tuple(ranked), previous=previous, **audit)

    def confirm(self, audit: dict[str, str]) -> None:
        self._preferences_confirmed(stars=len(self.stars), **audit)

    def check_in(self, audit: dict[str, str]) -> bool:
        """Record the arrival; False (nothing recorded) if already checked in."""
        if self.checked_in:
            return False
        self._checked_in(**audit)
        return True

    def undo_check_in(self, audit: dict[str, str]) -> None:
        if not self.checked_in:
            raise NotCheckedIn("The student is not checked in.", student_key=self.student_key)
        self._check_in_undone(**audit)

    # -- recorders ------------------------------------------------------------------------

    @event(ProfileSubmitted)
    def _profile_submitted(
        self, name: str, graduation_year: int, contacts: dict[str, str], actor: str, command_id: str, reason: str
    ) -> None:
        self.profile = Profile(name, graduation_year, contacts)

    @event(SectionRegistered)
    def _section_registered(
        self,
        section: SectionRef,
        verb: str,
        cause: str,
        lottery_run_id: UUID | None,  # noqa: ARG002 - recorded by the event, not kept in the state
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        self.registrations[(section.section_id, verb)] = Holding(section, verb, cause)

    @event(RegistrationEnded)
    def _registration_ended(
        self,
        section_id: SectionId,
        verb: str,
        cause: str,  # noqa: ARG002 - recorded by the event, not kept in the state
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        del self.registrations[(section_id, verb)]

    @event(SectionSwitched)
    def _section_switched(
        self, from_section_id: SectionId, to_section: SectionRef, actor: str, command_id: str, reason: str
    ) -> None:
        del self.registrations[(from_section_id, ENROLLED)]
        self.registrations[(to_section.section_id, ENROLLED)] = Holding(to_section, ENROLLED, "switch")

    @event(SubjectStarred)
    def _subject_starred(self, subject_id: SubjectId, actor: str, command_id: str, reason: str) -> None:
        self.stars.add(subject_id)

    @event(SubjectUnstarred)
    def _subject_unstarred(self, subject_id: SubjectId, actor: str, command_id: str, reason: str) -> None:
        self.stars.discard(subject_id)

    @event(PrioritiesRanked)
    def _priorities_ranked(
        self,
        timeslot_id: TimeslotId,
        ranked: Sequence[SectionRef | None],
        previous: Sequence[SectionRef | None],  # noqa: ARG002 - recorded by the event, not kept in the state
        actor: str,
        command_id: str,
        reason: str,
    ) -> None:
        for level, ref in enumerate(self.rankings.get(timeslot_id, ()), start=1):
            if ref is not None:
                self.registrations.pop((ref.section_id, priority_verb(level)), None)
        for level, ref in enumerate(ranked, start=1):
            if ref is not None:
                self.registrations[(ref.section_id, priority_verb(level))] = Holding(
                    ref, priority_verb(level), "ranking"
                )
        self.rankings[timeslot_id] = tuple(ranked)

    @event(CheckedIn)
    def _checked_in(self, actor: str, command_id: str, reason: str) -> None:
        self.checked_in = True

    @event(CheckInUndone)
    def _check_in_undone(self, actor: str, command_id: str, reason: str) -> None:
        self.checked_in = False

    @event(PreferencesConfirmed)
    def _preferences_confirmed(self, stars: int, actor: str, command_id: str, reason: str) -> None:  # noqa: ARG002 - recorded by the event, not kept in the state
        self.confirmed = True
