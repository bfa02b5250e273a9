"""The shared-UUID decoding reads and writes exactly the library's stored format."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given
from hypothesis import strategies as st

from regledger.domain import transcodings
from regledger.domain.ids import SectionId, SubjectId, TimeslotId
from regledger.domain.transcodings import MAX_CACHED_IDS, SharedUUIDAsHex, uuid_from_hex
from regledger.domain.values import SectionRef, SectionRefAsDict


def library_transcoder() -> JSONTranscoder:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), SectionRefAsDict()):
        transcoder.register(transcoding)
    return transcoder


def our_transcoder() -> JSONTranscoder:
    transcoder = library_transcoder()
    transcoder.register(SharedUUIDAsHex())
    return transcoder


@given(st.uuids(), st.lists(st.uuids(), max_size=4))
def test_either_transcoder_reads_what_the_other_wrote(value: UUID, slots: list[UUID]) -> None:
    ref = SectionRef(SectionId(value), SubjectId(uuid4()), "Math", tuple(TimeslotId(s) for s in slots))
    state = {"student_id": value, "section": ref, "many": [value, value]}
    ours, theirs = our_transcoder(), library_transcoder()
    assert ours.encode(state) == theirs.encode(state)
    assert ours.decode(theirs.encode(state)) == state
    assert theirs.decode(ours.encode(state)) == state


def test_one_id_decoded_twice_is_one_shared_object() -> None:
    text = uuid4().hex
    first, second = uuid_from_hex(text), uuid_from_hex(str(text))
    assert first == UUID(text)
    assert first is second


@pytest.mark.parametrize("bad", ["not-a-uuid", "12", "g" * 32])
def test_malformed_hex_is_refused_not_cached(bad: str) -> None:
    for _ in range(2):  # a second time too: a failed parse must not have been cached
        with pytest.raises(ValueError, match=r"hexadecimal UUID|invalid literal"):
            uuid_from_hex(bad)


def test_non_string_data_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="uuid_hex data must be a string"):
        SharedUUIDAsHex().decode(1234)


def test_the_cache_is_bounded() -> None:
    for _ in range(MAX_CACHED_IDS + 10):
        uuid_from_hex(uuid4().hex)
    assert len(transcodings._uuids) <= MAX_CACHED_IDS


def test_a_section_reference_is_shared_per_distinct_content() -> None:
    transcoding = SectionRefAsDict()
    ref = SectionRef(SectionId(uuid4()), SubjectId(uuid4()), "Math", (TimeslotId(uuid4()),))
    moved = SectionRef(ref.section_id, ref.subject_id, ref.category, (TimeslotId(uuid4()),))
    first, again = transcoding.decode(transcoding.encode(ref)), transcoding.decode(transcoding.encode(ref))
    assert first == ref
    assert first is again
    assert transcoding.decode(transcoding.encode(moved)) == moved  # same section, other timeslots
