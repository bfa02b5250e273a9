"""Values read straight from an event's stored JSON state, in the library's format.

Why: the hottest folds (the lottery's input, a projection rebuild) read a few fields of
millions of events. Parsing the state with orjson and reading those fields is about three
times cheaper than decoding the whole event (every value walked and transcoded, the event
object built). What: strict readers of the library's ``{"_type_": ..., "_data_": ...}`` pairs
(as `JSONTranscoder` and our transcodings write them); anything else raises `UnexpectedState`,
so a caller can take the full decoding instead. Ids go through the shared `uuid_from_hex`.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import JSONTranscoder, Mapper
from eventsourcing.utils import get_topic

from regledger.domain.ids import uuid_from_hex
from regledger.domain.section import Section
from regledger.domain.student import Student


class UnexpectedState(ValueError):
    """The stored value is not in the shape this reader expects."""


def _data(value: Any, name: str) -> Any:
    if type(value) is not dict or len(value) != 2 or value.get("_type_") != name or "_data_" not in value:
        raise UnexpectedState(f"not a {name}: {value!r}")
    return value["_data_"]


def uuid_of(value: Any) -> UUID:
    hex_ = _data(value, "uuid_hex")
    if type(hex_) is not str:
        raise UnexpectedState(f"not a uuid_hex: {value!r}")
    return uuid_from_hex(hex_)


def optional_uuid_of(value: Any) -> UUID | None:
    return None if value is None else uuid_of(value)


def datetime_of(value: Any) -> datetime:
    text = _data(value, "datetime_iso")
    if type(text) is not str:
        raise UnexpectedState(f"not a datetime_iso: {value!r}")
    return datetime.fromisoformat(text)


def section_ids_of(value: Any) -> tuple[UUID, UUID]:
    """(section id, subject id) of a `SectionRef` as `SectionRefAsDict` writes it."""
    data = _data(value, "section_ref")
    if type(data) is not dict or type(data.get("section_id")) is not str or type(data.get("subject_id")) is not str:
        raise UnexpectedState(f"not a section_ref: {value!r}")
    return uuid_from_hex(data["section_id"]), uuid_from_hex(data["subject_id"])


def stored_keys(event_class: type[Any]) -> frozenset[str]:
    """The keys of a (version 1) event class's stored state: its fields but the two that are
    columns of their own. A state with other keys (an upcast `class_version`, a field added
    or removed since) is not one these readers may read."""
    return frozenset(f.name for f in dataclasses.fields(event_class)) - {"originator_id", "originator_version"}


# Events stored before requests were stamped lack this key and read the same otherwise.
UNSTAMPED = frozenset({"request"})


_FAST_PATH_CLASSES: tuple[type[Any], ...] = (
    Student.SectionRegistered,
    Student.SubjectStarred,
    Student.SubjectUnstarred,
    Student.PrioritiesRanked,
    Section.StudentEnrolled,
    Section.StudentWaitlisted,
)


# The one registry of event classes whose stored state is read without the full decoding
# (the lean fold of the views, the lottery's input fold): topic -> the keys it must have.
# Version 1 classes only: an upcast class is never read raw.
FAST_PATH: dict[str, frozenset[str]] = {
    get_topic(cls): stored_keys(cls) for cls in _FAST_PATH_CLASSES if getattr(cls, "class_version", 1) == 1
}


def guarded_state(topic: str, state: bytes) -> dict[str, Any] | None:
    """The parsed state of a fast-path event, or None: decode it as usual.

    None unless the topic is registered and the state has exactly its class's stored keys
    (with or without the request stamp): an upcast `class_version`, a field added or removed,
    or anything but a JSON object takes the full decoding."""
    keys = FAST_PATH.get(topic)
    if keys is None:
        return None
    try:
        parsed = orjson.loads(state)
    except orjson.JSONDecodeError:
        return None
    if type(parsed) is not dict or (parsed.keys() != keys and parsed.keys() != keys - UNSTAMPED):
        return None
    return parsed


def reads_plain_json(mapper: Mapper[Any]) -> bool:
    """Stored states are the library's JSON as written (no cipher, no compression)."""
    return mapper.cipher is None and mapper.compressor is None and isinstance(mapper.transcoder, JSONTranscoder)


__all__ = [
    "FAST_PATH",
    "UNSTAMPED",
    "UnexpectedState",
    "datetime_of",
    "guarded_state",
    "optional_uuid_of",
    "reads_plain_json",
    "section_ids_of",
    "stored_keys",
    "uuid_of",
]
