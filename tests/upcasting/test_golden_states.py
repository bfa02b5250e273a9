"""Golden stored states of every event class that has a fast path: a future upcast cannot
silently diverge.

Why these exist: two folds read some events straight from their stored JSON state instead of
decoding them (`projections/lean_fold.py`'s `LEAN` table for the projections,
`projections/lottery_input.py`'s `_raw_*` handlers for the lottery input). Those readers know the
stored format by heart. If an event class gains, loses or renames a field, or gets a
`class_version` and an upcaster, the decoding follows at once, but a fast path would keep
reading the old shape, and the projections or the lottery input would quietly disagree with
the aggregates. These tests pin the format:

(a) the class, through the application's mapper, writes exactly the golden keys and bytes, so
    a format change fails here until the golden file and the fast paths are updated together
    (`make_golden.py` says how);
(b) the lean fold of each golden state equals the fold of its decoded event;
(c) each lottery raw handler does to a student exactly what the decoded handler does;
(d) a state of another shape (an upcast `class_version`, an unknown key, a missing one) is
    left to the full decoding by the lean fold.

Every class has two golden states: the current format (`<Class>.json`) and the format of
events stored before requests were stamped (`<Class>.unstamped.json`, no "request" key), which
live logs still hold and the fast paths must keep reading.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from eventsourcing.persistence import Mapper, StoredEvent
from eventsourcing.utils import get_topic

from regledger.domain.application import Registration
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.projections.changes import changes_of
from regledger.projections.lean_fold import LEAN, lean_changes
from regledger.projections.lottery_fold import Fold as _Fold
from regledger.projections.lottery_fold import _StudentState

GOLDEN = Path(__file__).resolve().parent / "golden"

# As in make_golden.py: the golden events' originator (a column, not part of the state) and
# the ids their states name.
ORIGINATOR = UUID("00000000-0000-4000-8000-00000000a001")
VERSION = 7
SUBJECT = UUID("00000000-0000-4000-8000-00000000c001")
OTHER_SUBJECT = UUID("00000000-0000-4000-8000-00000000c002")
SECTION = UUID("00000000-0000-4000-8000-00000000d001")
OTHER_SECTION = UUID("00000000-0000-4000-8000-00000000d002")
TIMESLOT = UUID("00000000-0000-4000-8000-00000000e001")

# File stem -> (the topic stored with it, the class). Topics are stored too: a new one is a
# data migration (`register_topic`), not a rename.
CLASSES: dict[str, tuple[str, type[Any]]] = {
    "Student.SectionRegistered": ("regledger.domain.student:Student.SectionRegistered", Student.SectionRegistered),
    "Student.SubjectStarred": ("regledger.domain.student:Student.SubjectStarred", Student.SubjectStarred),
    "Student.SubjectUnstarred": ("regledger.domain.student:Student.SubjectUnstarred", Student.SubjectUnstarred),
    "Student.PrioritiesRanked": ("regledger.domain.student:Student.PrioritiesRanked", Student.PrioritiesRanked),
    "Section.StudentEnrolled": ("regledger.domain.section:Section.StudentEnrolled", Section.StudentEnrolled),
    "Section.StudentWaitlisted": ("regledger.domain.section:Section.StudentWaitlisted", Section.StudentWaitlisted),
}
LEAN_STEMS = [stem for stem, (topic, _) in CLASSES.items() if topic in LEAN]
LOTTERY_STEMS = [stem for stem, (topic, _) in CLASSES.items() if topic in _Fold(UUID(int=0)).raw_handlers]
FORMATS = ["current", "unstamped"]


@pytest.fixture(scope="module")
def mapper() -> Iterator[Mapper[UUID]]:
    app = Registration(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield app.mapper
    app.close()


def golden(stem: str, form: str = "current") -> StoredEvent:
    """The golden stored event (the file holds its state bytes and a final newline)."""
    name = f"{stem}.json" if form == "current" else f"{stem}.{form}.json"
    state = (GOLDEN / name).read_bytes()
    assert state.endswith(b"}\n")
    return StoredEvent(ORIGINATOR, VERSION, CLASSES[stem][0], state[:-1])


def keys_of(state: bytes) -> set[str]:
    return set(orjson.loads(state))


# -- every fast path is covered ------------------------------------------------------------


def test_every_fast_path_class_has_golden_states_and_its_stored_topic():
    lottery_topics = set(_Fold(UUID(int=0)).raw_handlers)
    assert set(LEAN) | lottery_topics == {topic for topic, _ in CLASSES.values()}
    assert {path.name for path in GOLDEN.iterdir()} == {
        f"{stem}{suffix}" for stem in CLASSES for suffix in (".json", ".unstamped.json")
    }
    for topic, cls in CLASSES.values():
        assert get_topic(cls) == topic


# -- (a) the class writes the golden format --------------------------------------------------


@pytest.mark.parametrize("stem", CLASSES)
def test_the_class_stores_exactly_the_golden_keys(stem):
    _, cls = CLASSES[stem]
    written = {f.name for f in dataclasses.fields(cls)} - {"originator_id", "originator_version"}
    if getattr(cls, "class_version", 1) > 1:
        written.add("class_version")  # the mapper adds it to the state
    expected = keys_of(golden(stem).state)
    assert written == expected, (
        f"{cls.__qualname__}'s stored keys changed (added {sorted(written - expected)}, removed "
        f"{sorted(expected - written)}): update its fast paths and golden files together (make_golden.py)"
    )


@pytest.mark.parametrize("stem", CLASSES)
def test_the_mapper_writes_the_golden_state_byte_for_byte(stem, mapper):
    stored = golden(stem)
    decoded = mapper.to_domain_event(stored)
    assert type(decoded) is CLASSES[stem][1]
    # Built again by the class's own __init__ (a decoded event holds only the stored keys), so
    # a field added with a default is written, and a changed encoding of a value shows.
    assert mapper.to_stored_event(dataclasses.replace(decoded)) == stored


@pytest.mark.parametrize("stem", CLASSES)
def test_an_unstamped_state_reads_as_an_empty_request_and_nothing_else_differs(stem, mapper):
    old, current = golden(stem, "unstamped"), golden(stem)
    assert keys_of(current.state) - keys_of(old.state) == {"request"}
    event = mapper.to_domain_event(old)
    assert event.request == ""
    assert dataclasses.replace(event, request=mapper.to_domain_event(current).request) == mapper.to_domain_event(
        current
    )


# -- (b) the lean fold equals the fold of the decoded event ---------------------------------


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("stem", LEAN_STEMS)
def test_the_lean_fold_of_a_golden_state_equals_the_fold_of_its_decoded_event(stem, form, mapper):
    stored = golden(stem, form)
    lean = lean_changes(stored.topic, stored.originator_id, stored.state)
    assert lean is not None, "the fast path no longer takes this stored format"
    assert lean == changes_of(mapper.to_domain_event(stored))
    assert lean  # each of these events changes a view


# -- (c) the lottery's raw handlers equal its decoded handlers -------------------------------


def student_before(stem: str) -> _StudentState:
    """A student with a star and a ranking already, so each event changes something."""
    student = _StudentState()
    student.stars = {OTHER_SUBJECT} | ({SUBJECT} if stem == "Student.SubjectUnstarred" else set())
    student.registrations = {(SECTION, "Priority/1"), (OTHER_SECTION, "Enrolled")}
    student.rankings = {TIMESLOT: (SECTION,)}
    return student


def slots(student: _StudentState) -> dict[str, Any]:
    return {name: getattr(student, name) for name in _StudentState.__slots__}


# What each golden event does to `student_before`, whichever way it is read.
LOTTERY_AFTER: dict[str, Callable[[dict[str, Any]], None]] = {
    "Student.SubjectStarred": lambda s: s.update(stars={OTHER_SUBJECT, SUBJECT}),
    "Student.SubjectUnstarred": lambda s: s.update(stars={OTHER_SUBJECT}),
    # ranked (other section, gap, section) replaces (section,) in that timeslot
    "Student.PrioritiesRanked": lambda s: s.update(
        registrations={(OTHER_SECTION, "Priority/1"), (SECTION, "Priority/3"), (OTHER_SECTION, "Enrolled")},
        rankings={TIMESLOT: (OTHER_SECTION, None, SECTION)},
    ),
}


def test_every_lottery_raw_handler_has_an_expected_outcome():
    assert set(LOTTERY_AFTER) == set(LOTTERY_STEMS)


@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("stem", LOTTERY_STEMS)
def test_the_lottery_raw_handler_of_a_golden_state_equals_its_decoded_handler(stem, form, mapper):
    stored = golden(stem, form)
    raw, decoded = _Fold(UUID(int=0)), _Fold(UUID(int=0))
    raw.students[ORIGINATOR], decoded.students[ORIGINATOR] = student_before(stem), student_before(stem)

    raw.raw_handlers[stored.topic](ORIGINATOR, orjson.loads(stored.state))
    _, handle = decoded.handlers[stored.topic]
    handle(mapper.to_domain_event(stored))

    expected = slots(student_before(stem))
    LOTTERY_AFTER[stem](expected)
    assert slots(decoded.students[ORIGINATOR]) == expected
    assert slots(raw.students[ORIGINATOR]) == expected


# -- (d) another shape is left to the full decoding -----------------------------------------


def with_class_version_2(state: dict[str, Any]) -> None:
    state["class_version"] = 2


def with_an_unknown_key(state: dict[str, Any]) -> None:
    state["room"] = "4-231"


def without_the_actor(state: dict[str, Any]) -> None:
    del state["actor"]


@pytest.mark.parametrize("edit", [with_class_version_2, with_an_unknown_key, without_the_actor])
@pytest.mark.parametrize("form", FORMATS)
@pytest.mark.parametrize("stem", LEAN_STEMS)
def test_a_state_of_another_shape_is_not_taken_by_the_lean_fold(stem, form, edit):
    stored = golden(stem, form)
    state = orjson.loads(stored.state)
    edit(state)
    assert lean_changes(stored.topic, stored.originator_id, orjson.dumps(state)) is None
