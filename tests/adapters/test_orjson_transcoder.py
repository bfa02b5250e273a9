"""Our decoding (shared UUIDs, orjson parsing) reads and writes exactly the library's stored format."""

from __future__ import annotations

import math
from datetime import UTC
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from regledger.adapters.orjson_transcoder import OrjsonDecodingTranscoder
from regledger.adapters.settings import Settings
from regledger.domain import ids
from regledger.domain.application import Registration
from regledger.domain.ids import MAX_CACHED_IDS, SectionId, SubjectId, TimeslotId, uuid_from_hex
from regledger.domain.values import SectionRef, SectionRefAsDict, SharedUUIDAsHex


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
    assert len(ids._uuids) <= MAX_CACHED_IDS


def test_a_section_reference_is_shared_per_distinct_content() -> None:
    transcoding = SectionRefAsDict()
    ref = SectionRef(SectionId(uuid4()), SubjectId(uuid4()), "Math", (TimeslotId(uuid4()),))
    moved = SectionRef(ref.section_id, ref.subject_id, ref.category, (TimeslotId(uuid4()),))
    first, again = transcoding.decode(transcoding.encode(ref)), transcoding.decode(transcoding.encode(ref))
    assert first == ref
    assert first is again
    assert transcoding.decode(transcoding.encode(moved)) == moved  # same section, other timeslots


def orjson_transcoder() -> OrjsonDecodingTranscoder:
    transcoder = OrjsonDecodingTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO(), SectionRefAsDict()):
        transcoder.register(transcoding)
    return transcoder


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down (NaN equal to NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


refs = st.builds(
    SectionRef,
    st.uuids().map(SectionId),
    st.uuids().map(SubjectId),
    st.text(max_size=8),
    st.lists(st.uuids().map(TimeslotId), max_size=3).map(tuple),
)
leaves = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses them, the stdlib reads them
    | st.floats()  # NaN and infinities too
    | st.text()  # lone surrogates too
    | st.uuids()
    | st.datetimes(timezones=st.just(UTC))
    | st.decimals(allow_nan=False)
    | refs
)
states = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), states, max_size=6))
def test_orjson_decoding_equals_the_library_decoding(state: dict[str, Any]) -> None:
    library, ours = library_transcoder(), orjson_transcoder()
    try:
        stored = library.encode(state)
    except UnicodeEncodeError:  # a lone surrogate: the library cannot store it either
        return
    assert ours.encode(state) == stored
    assert same(ours.decode(stored), library.decode(stored))


@pytest.mark.parametrize(
    "stored",
    [
        b'{"x":NaN,"y":-Infinity}',
        b'{"overflows":1e400,"negative_zero":-0.0,"tiny":5e-324,"exponent":1E5}',
        b'{"twice":1,"twice":2}',
        b'{"_type_":"decimal_str","_data_":{"_type_":"decimal_str","_data_":"1.5"}}',
        b'{"_data_":"1.5","_type_":"decimal_str"}',
        b'{"big":123456789012345678901234567890}',
        b'{"s":"\\ud800"}',
        b'{"_type_":"only one key"}',
        b'{"_type_":"uuid_hex","_data_":"0123456789abcdef0123456789abcdef","extra":1}',
        b'[{"_type_":"decimal_str","_data_":"1.50"},[{"_type_":"datetime_iso","_data_":"2027-02-13T09:00:00+00:00"}]]',
    ],
)
def test_what_orjson_refuses_or_leaves_alone_reads_as_the_library_reads_it(stored: bytes) -> None:
    assert same(orjson_transcoder().decode(stored), library_transcoder().decode(stored))


@pytest.mark.parametrize(
    ("stored", "error"),
    [
        (b'{"_type_":"no_such_type","_data_":1}', TranscodingNotRegisteredError),
        (b'{"_type_":5,"_data_":1}', TranscodingNotRegisteredError),
        (b'{"_type_":null,"_data_":1}', TranscodingNotRegisteredError),
        (b'{"_type_":["uuid_hex"],"_data_":1}', TypeError),
        (b"\xff{}", UnicodeDecodeError),
        (b'{"unclosed":', ValueError),
    ],
)
def test_undecodable_states_fail_as_the_library_fails(stored: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        library_transcoder().decode(stored)
    with pytest.raises(error):
        orjson_transcoder().decode(stored)


def test_the_composition_root_chooses_orjson_through_the_library_seam(tmp_path) -> None:
    """Settings name the transcoder with the library's TRANSCODER_TOPIC; the domain does not."""
    settings = Settings.from_mapping({"REGLEDGER_STORE": "memory"})
    app = Registration(env=settings.eventsourcing_env(names=[Registration.name]))
    assert type(app.mapper.transcoder) is OrjsonDecodingTranscoder
    assert "uuid_hex" in app.mapper.transcoder.names  # the domain's transcodings are registered on it
    plain = Registration(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    assert type(plain.mapper.transcoder) is JSONTranscoder
    assert Decimal("1.5") == plain.mapper.transcoder.decode(plain.mapper.transcoder.encode(Decimal("1.5")))
