"""Class-change requests for a synthetic program: a share of its students ask for 1-3 sections
each through the real `request_changes` command (for the benchmark, the demo and tests)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from regledger.domain.errors import RegistrationError
from regledger.domain.program import grade_in
from regledger.domain.values import ENROLLED, CommandContext

if TYPE_CHECKING:
    from regledger.adapters.simulation.synthetic import SyntheticProgram
    from regledger.domain.application import Registration
    from regledger.domain.ids import ProgramId, SectionId


@dataclass(frozen=True)
class PlacedRequests:
    students: int
    requests: int
    refused: int


def place_requests(
    app: Registration,
    program: SyntheticProgram,
    pid: ProgramId,
    section_of: Callable[[str, int], SectionId],
    *,
    share: float = 0.2,
    seed: int = 0,
) -> PlacedRequests:
    """`share` of the students (drawn with `seed`) each request 1-3 sections of classes they do
    not hold, in their grades, with distinct priorities from 1..3 or none. `section_of(code,
    index)` names a synthetic section's stored id. Refused commands are counted, not raised."""
    rng = np.random.Generator(np.random.PCG64(seed))
    classes = {c.code: c for c in program.classes}
    sections = [s for s in program.sections if not classes[s.class_code].is_lunch]
    code_of = {section_of(s.class_code, s.index): s.class_code for s in program.sections}
    levels_allowed: list[int | None] = [*range(1, min(3, program.priority_limit) + 1), None]
    students = requests = refused = 0
    chosen = sorted(rng.choice(len(program.students), size=round(len(program.students) * share), replace=False))
    for person in (program.students[int(i)] for i in chosen):
        grade = grade_in(program.school_year, person.graduation_year)
        held = {code_of.get(r.section_id) for r in app.get_student(pid, person.key).holding(ENROLLED)}
        eligible = [
            s
            for s in sections
            if classes[s.class_code].grade_min <= grade <= classes[s.class_code].grade_max and s.class_code not in held
        ]
        picks = [
            eligible[int(i)]
            for i in rng.choice(len(eligible), size=min(len(eligible), 1 + int(rng.integers(3))), replace=False)
        ]
        levels = [levels_allowed[int(i)] for i in rng.permutation(len(levels_allowed))[: len(picks)]]
        wanted = {section_of(s.class_code, s.index): lv for s, lv in zip(picks, levels, strict=False)}
        try:
            app.request_changes(pid, person.key, wanted, CommandContext(actor=f"student:{person.key}"))
        except RegistrationError:
            refused += 1
            continue
        students += 1
        requests += len(wanted)
    return PlacedRequests(students, requests, refused)
