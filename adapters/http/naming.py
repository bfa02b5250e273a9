"""Names beside ids: one read of the views per kind of id an answer lists.

An id the views do not know (yet) keeps null names: the answer never fails for a name.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from regledger.adapters.http.catalogue_models import StudentRefPublic
from regledger.projections.catalogue import SectionView, StudentView
from regledger.projections.views import RegistrationViews


class Names:
    def __init__(self, views: RegistrationViews) -> None:
        self.views = views
        self.students: dict[UUID, StudentView] = {}
        self.sections: dict[UUID, SectionView] = {}

    def load(self, *, students: Iterable[UUID] = (), sections: Iterable[UUID] = ()) -> Names:
        wanted = set(students) - set(self.students)
        if wanted:
            self.students.update(self.views.student_views(wanted))
        wanted = set(sections) - set(self.sections)
        if wanted:
            self.sections.update(self.views.sections_by_id(wanted))
        return self

    def key(self, student_id: UUID) -> str | None:
        found = self.students.get(student_id)
        return None if found is None else found.key

    def student(self, student_id: UUID) -> StudentRefPublic:
        found = self.students.get(student_id)
        return StudentRefPublic(
            student_id=student_id, key=None if found is None else found.key, name=None if found is None else found.name
        )

    def code(self, section_id: UUID) -> str | None:
        found = self.sections.get(section_id)
        return None if found is None else found.code

    def section(self, section_id: UUID) -> SectionView | None:
        return self.sections.get(section_id)
