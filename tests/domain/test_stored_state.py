"""The stored-state readers accept exactly the library's pairs and refuse anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from regledger.domain.student import Student
from regledger.projections.stored_state import (
    UnexpectedState,
    datetime_of,
    optional_uuid_of,
    section_ids_of,
    stored_keys,
    uuid_of,
)


def test_the_pairs_are_read() -> None:
    a, b = uuid4(), uuid4()
    at = datetime(2027, 2, 13, 9, tzinfo=UTC)
    assert uuid_of({"_type_": "uuid_hex", "_data_": a.hex}) == a
    assert optional_uuid_of(None) is None
    assert datetime_of({"_type_": "datetime_iso", "_data_": at.isoformat()}) == at
    ref = {"section_id": a.hex, "subject_id": b.hex, "category": "Math", "timeslot_ids": []}
    assert section_ids_of({"_type_": "section_ref", "_data_": ref}) == (a, b)


@pytest.mark.parametrize(
    ("reader", "value"),
    [
        (uuid_of, {"_type_": "datetime_iso", "_data_": uuid4().hex}),
        (uuid_of, {"_type_": "uuid_hex", "_data_": 5}),
        (uuid_of, {"_type_": "uuid_hex"}),
        (uuid_of, {"_type_": "uuid_hex", "_data_": uuid4().hex, "more": 1}),
        (uuid_of, uuid4().hex),
        (uuid_of, None),
        (datetime_of, {"_type_": "datetime_iso", "_data_": ["2027"]}),
        (section_ids_of, {"_type_": "section_ref", "_data_": {"section_id": uuid4().hex}}),
        (section_ids_of, {"_type_": "section_ref", "_data_": "x"}),
    ],
)
def test_anything_else_is_unexpected(reader: Any, value: Any) -> None:
    with pytest.raises(UnexpectedState):
        reader(value)


def test_a_malformed_id_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="hexadecimal UUID"):
        uuid_of({"_type_": "uuid_hex", "_data_": "not hex"})


def test_the_stored_keys_are_the_fields_but_the_columns() -> None:
    assert stored_keys(Student.SubjectStarred) == {
        "timestamp",
        "actor",
        "command_id",
        "reason",
        "request",
        "subject_id",
    }
