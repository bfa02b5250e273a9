"""Sections and students as people name them: `M101s1` (with --program), `SLUG/M101s1` or a
UUID; `SLUG/KEY`. Malformed addresses are usage errors (exit 2) before the store is opened."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

import typer

from regledger.domain.errors import RegistrationError
from regledger.domain.ids import ProgramId, SectionId, StudentId, program_id, student_id
from regledger.domain.values import check_key
from regledger.projections.catalogue import section_id_of_code

SECTION_HELP = "A section: its code (M101s1: class code, s, number) with --program, SLUG/M101s1, or its id."
STUDENT_HELP = "A student: SLUG/KEY (the program's slug, a slash, the student's key)."
PROGRAM_OPTION_HELP = "The program's slug, when a section is named by its code alone."


@dataclass(frozen=True)
class SectionAddress:
    section_id: SectionId
    slug: str | None = None  # set when the section was named by its code
    code: str | None = None

    def __str__(self) -> str:
        return f"{self.slug}/{self.code}" if self.code else str(self.section_id)


@dataclass(frozen=True)
class StudentAddress:
    slug: str
    key: str

    @property
    def program_id(self) -> ProgramId:
        return program_id(self.slug)

    @property
    def student_id(self) -> StudentId:
        return student_id(self.program_id, self.key)

    def __str__(self) -> str:
        return f"{self.slug}/{self.key}"


def _key(value: str, what: str, given: str) -> str:
    try:
        return check_key(value, what)
    except RegistrationError:
        raise typer.BadParameter(f"{given!r}: the {what} must be 1-64 letters, digits and . _ @ + -") from None


def section_address(text: str, program: str | None = None) -> SectionAddress:
    """A section named by its id, `SLUG/CODE`, or `CODE` with the program's slug."""
    text = text.strip()
    try:
        return SectionAddress(SectionId(UUID(text)))
    except ValueError:
        pass
    slug, slash, code = text.partition("/")
    if not slash:
        slug, code = program or "", text
        if not slug:
            raise typer.BadParameter(f"{text!r}: a section code needs --program SLUG (or write SLUG/{text})")
    elif program is not None and program != slug:
        raise typer.BadParameter(f"{text!r} names program {slug!r}, but --program is {program!r}")
    found = section_id_of_code(program_id(_key(slug, "program slug", text)), code)
    if found is None:
        raise typer.BadParameter(
            f"{text!r} is not a section: give its code (class code, s, section number: M101s1) or its id"
        )
    return SectionAddress(found, slug, code)


def student_address(text: str) -> StudentAddress:
    slug, slash, key = text.strip().partition("/")
    if not slash or not slug or not key:
        raise typer.BadParameter(f"{text!r}: a student is SLUG/KEY (the program's slug, a slash, the key)")
    return StudentAddress(_key(slug, "program slug", text), _key(key, "student key", text))
