"""The lean fold of the hottest events equals the fold of their decoded domain events."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import Mapper, Notification, StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from regledger.domain.application import Registration
from regledger.domain.ids import SectionId, SubjectId, TimeslotId
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import SectionRef
from regledger.projections.changes import changes_of, fold_batch
from regledger.projections.lean_fold import LEAN, fold_stored, lean_changes

APP = Registration(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
MAPPER = APP.mapper

texts = st.text(max_size=12)
ids = st.uuids()
times = st.datetimes(timezones=st.just(UTC))
refs = st.builds(
    SectionRef,
    ids.map(SectionId),
    ids.map(SubjectId),
    texts,
    st.lists(ids.map(TimeslotId), max_size=3).map(tuple),
)
audit = {"timestamp": times, "actor": texts, "command_id": texts, "reason": texts, "originator_id": ids}
events = st.one_of(
    st.builds(
        Student.SectionRegistered,
        originator_version=st.integers(1, 10**6),
        section=refs,
        verb=texts,
        cause=texts,
        lottery_run_id=st.none() | ids,
        **audit,
    ),
    st.builds(Student.SubjectStarred, originator_version=st.integers(1, 10**6), subject_id=ids, **audit),
    st.builds(
        Section.StudentEnrolled,
        originator_version=st.integers(1, 10**6),
        student_id=ids,
        cause=texts,
        override=st.booleans(),
        lottery_run_id=st.none() | ids,
        **audit,
    ),
    st.builds(Section.StudentWaitlisted, originator_version=st.integers(1, 10**6), student_id=ids, **audit),
)


@given(events)
def test_the_lean_fold_equals_the_fold_of_the_decoded_event(event: Any) -> None:
    stored = MAPPER.to_stored_event(event)
    assert stored.topic in LEAN
    lean = lean_changes(stored.topic, stored.originator_id, stored.state)
    assert lean is not None
    assert lean == changes_of(MAPPER.to_domain_event(stored))


def one_event() -> StoredEvent:
    return MAPPER.to_stored_event(
        Student.SubjectStarred(
            originator_id=uuid4(),
            originator_version=2,
            timestamp=APP.clock(),
            actor="a",
            command_id="c",
            reason="",
            subject_id=uuid4(),
        )
    )


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.replace(b"{", b'{"class_version":2,', 1),  # an upcast state
        lambda s: s.replace(b'"actor":"a"', b'"actor":7'),  # a text field that is not text
        lambda s: s.replace(b'"datetime_iso"', b'"uuid_hex"'),  # a pair of another type
        lambda s: s.replace(b'"reason":""', b'"reason":"","extra":1'),  # another field
        lambda s: s[:-1],  # not JSON
    ],
)
def test_an_unexpected_state_is_left_to_the_full_decoding(edit: Any) -> None:
    stored = one_event()
    edited = edit(stored.state)
    assert edited != stored.state
    assert lean_changes(stored.topic, stored.originator_id, edited) is None


def test_other_topics_and_string_ids_are_left_to_the_full_decoding() -> None:
    stored = one_event()
    assert lean_changes("regledger.domain.student:Student.SubjectUnstarred", stored.originator_id, stored.state) is None
    assert lean_changes(stored.topic, str(stored.originator_id), stored.state) is None


def as_entries(stored: list[StoredEvent]) -> list[Notification]:
    return [
        Notification(
            id=i, originator_id=s.originator_id, originator_version=s.originator_version, topic=s.topic, state=s.state
        )
        for i, s in enumerate(stored, start=1)
    ]


@given(st.lists(events, max_size=6))
def test_fold_stored_equals_fold_batch_with_a_plain_or_a_compressing_mapper(batch: list[Any]) -> None:
    compressing = Mapper[UUID](transcoder=MAPPER.transcoder, compressor=ZlibCompressor())
    for mapper in (MAPPER, compressing):
        entries = as_entries([mapper.to_stored_event(e) for e in batch])
        expected = fold_batch(((n.id, mapper.to_domain_event(n)) for n in entries), after=0)
        assert fold_stored(entries, mapper, after=0) == expected
