"""Names for the ids a CLI command prints, and the programs, sections and students it was given.

Queries read them from the views' catalogue (`projections/catalogue.py`); commands name what
they changed from the aggregates they loaded, which never lag behind.
"""

from __future__ import annotations

from uuid import UUID
from zoneinfo import ZoneInfo

import typer

from regledger.adapters.cli_address import SectionAddress, StudentAddress
from regledger.adapters.cli_common import refused, run_refusable
from regledger.domain.application import Registration
from regledger.domain.errors import NotFoundError
from regledger.domain.ids import program_id
from regledger.domain.program import Program
from regledger.domain.section import Section
from regledger.projections.catalogue import CatalogueViews, ProgramView, SectionView, StudentView, section_code


def zone(program: ProgramView) -> ZoneInfo:
    return ZoneInfo(program.timezone)


def program_named(reads: CatalogueViews, slug: str | UUID) -> ProgramView:
    """The program with this slug (or id), or `refused not_found` (exit 2)."""
    pid = program_id(slug) if isinstance(slug, str) else slug
    found = reads.program(pid)
    if found is None:
        raise refused(NotFoundError(f"No program {slug}", program_id=str(pid)))
    return found


def _no_section(address: SectionAddress, program: str | None = None) -> typer.Exit:
    slug = address.slug or program
    where = f" in program {slug}" if slug else ""
    return refused(NotFoundError(f"No section {address.code or address.section_id}{where}"))


def section_named(reads: CatalogueViews, address: SectionAddress) -> SectionView:
    found = reads.section_view(address.section_id)
    if found is None:
        raise _no_section(address)
    return found


def section_aggregate(app: Registration, address: SectionAddress, program: Program | None = None) -> Section:
    """The section a command changes (from its aggregate: commands must not wait for the views)."""
    try:
        return app.load_section(address.section_id, program)
    except NotFoundError:
        raise _no_section(address, program.slug if program else None) from None


def section_name(app: Registration, section: Section) -> str:
    """How people name a section: `M101s1 Algebra I`."""
    subject = run_refusable(lambda: app.load_subject(section.subject_id))
    return f"{section_code(subject.code, section.index)} {subject.title}"


def student_named(reads: CatalogueViews, address: StudentAddress) -> StudentView:
    program_named(reads, address.slug)
    found = reads.student_views([address.student_id]).get(address.student_id)
    if found is None:
        raise refused(NotFoundError(f"No student {address.key} in program {address.slug}"))
    return found
