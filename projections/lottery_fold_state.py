"""The lottery fold's state as plain JSON values, and back: what a checkpoint stores.

A checkpoint is the fold as of a log position. Restored and moved forward over the rest of the
log it equals a fold from zero (same state, so the same input and digest), because a fold is a
function of the events it applied and a position once read has no gaps that fill later
(`lottery_input.LotteryInputFold`).

The shape: every UUID once, in `ids` (hex), referred to by its index; verbs likewise in
`verbs`. Dict and set contents keep their iteration order (`program_members` lists sections
in it). `signature` names the fold's shape (this format and the topics it folds): a checkpoint
of another shape is never read, so changing the fold means new checkpoints, not wrong ones.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from regledger.domain.ids import ProgramId, uuid_from_hex
from regledger.domain.lottery.model import LotteryTimeslot
from regledger.domain.program import ProgramSettings
from regledger.projections.lottery_fold import Fold, _SectionState, _StudentState, _SubjectState

if TYPE_CHECKING:
    from collections.abc import Iterable

FORMAT = 1


def fold_signature() -> str:
    """This build's fold shape: the format and the topics folded (a new handler changes it)."""
    topics = ",".join(Fold(ProgramId(UUID(int=0))).topics)
    return hashlib.sha256(f"{FORMAT}|{topics}".encode()).hexdigest()[:32]


class _Interned:
    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def __call__(self, value: Any) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.index)
        return found

    def values(self) -> list[Any]:
        return list(self.index)


def dump_fold(fold: Fold) -> dict[str, Any]:
    """The fold's state as JSON values (ints, strings, lists, None)."""
    ids, verbs = _Interned(), _Interned()

    def many(values: Iterable[UUID]) -> list[int]:
        return [ids(v) for v in values]

    students = []
    for sid, state in fold.students.items():
        registrations = [x for section_id, verb in state.registrations for x in (ids(section_id), verbs(verb))]
        rankings = [
            x
            for slot, ranked in state.rankings.items()
            for x in (ids(slot), [-1 if r is None else ids(r) for r in ranked])
        ]
        students.append([ids(sid), state.graduation_year, registrations, many(state.stars), rankings])
    return {
        "signature": fold_signature(),
        "program_id": str(fold.program_id),
        "position": fold.position,
        "settings": None if fold.settings is None else fold.settings.as_dict(),
        "school_year": fold.school_year,
        "timeslots": [[ids(t.id), t.start.isoformat(), t.end.isoformat()] for t in fold.timeslots.values()],
        "subjects": [[ids(k), s.status, s.grade_min, s.grade_max, s.is_lunch] for k, s in fold.subjects.items()],
        "sections": [
            [ids(k), ids(s.subject_id), many(s.timeslot_ids), s.capacity, s.is_open, s.is_cancelled]
            for k, s in fold.sections.items()
        ],
        "students": students,
        "ids": [u.hex for u in ids.values()],
        "verbs": verbs.values(),
    }


def load_fold(plain: dict[str, Any]) -> Fold | None:
    """The fold a `dump_fold` value holds; None when it has another shape (`signature`)."""
    if plain.get("signature") != fold_signature():
        return None
    ids = [uuid_from_hex(h) for h in plain["ids"]]
    verbs: list[str] = plain["verbs"]
    fold = Fold(ProgramId(UUID(plain["program_id"])))
    fold.position = plain["position"]
    fold.settings = None if plain["settings"] is None else ProgramSettings.from_dict(plain["settings"])
    fold.school_year = plain["school_year"]
    for k, start, end in plain["timeslots"]:
        fold.timeslots[ids[k]] = LotteryTimeslot(ids[k], datetime.fromisoformat(start), datetime.fromisoformat(end))
    for k, status, grade_min, grade_max, is_lunch in plain["subjects"]:
        fold.subjects[ids[k]] = _SubjectState(status, grade_min, grade_max, is_lunch)
    for k, subject, slots, capacity, is_open, is_cancelled in plain["sections"]:
        section = _SectionState(ids[subject], tuple(ids[t] for t in slots), capacity)
        section.is_open, section.is_cancelled = is_open, is_cancelled
        fold.sections[ids[k]] = section
    for k, graduation_year, registrations, stars, rankings in plain["students"]:
        state = _StudentState()
        state.graduation_year = graduation_year
        pairs = iter(registrations)
        state.registrations = {(ids[s], verbs[v]) for s, v in zip(pairs, pairs, strict=True)}
        state.stars = {ids[s] for s in stars}
        ranked = iter(rankings)
        state.rankings = {
            ids[slot]: tuple(None if r < 0 else ids[r] for r in refs) for slot, refs in zip(ranked, ranked, strict=True)
        }
        fold.students[ids[k]] = state
    return fold


__all__ = ["dump_fold", "fold_signature", "load_fold"]
