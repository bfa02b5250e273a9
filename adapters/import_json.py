"""JSON import documents (catalogue, timeslots, students): their pydantic models (also the
HTTP API's request schemas) and their reading into the domain's entries with line numbers.

The stdlib decoder is run with its pure-Python scanner so that every object records the line
it starts on (`_Located`); pydantic's error locations are then mapped back to those lines.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from regledger.adapters.import_text import decode, instant
from regledger.domain.catalogue_entries import (
    GRADES,
    MAX_CLASSES,
    MAX_SECTION_NUMBER,
    MAX_SECTION_TIMESLOTS,
    MAX_SIZE,
    MAX_TIMESLOTS,
    Catalogue,
    ClassEntry,
    SectionEntry,
    TimeslotEntry,
)
from regledger.domain.imports import ImportIssue, refuse
from regledger.domain.student_import import MAX_STUDENTS, YEARS, StudentEntry
from regledger.domain.values import KEY_RULE

M = TypeVar("M", bound=BaseModel)


def _instant(value: Any) -> Any:
    return value if isinstance(value, datetime) else instant(value)


Instant = Annotated[datetime, BeforeValidator(_instant)]
Key = Annotated[str, StringConstraints(pattern=f"^{KEY_RULE}$")]
Text = Annotated[str, StringConstraints(max_length=200)]
Size = Annotated[int, Field(strict=True, ge=0, le=MAX_SIZE)]
Grade = Annotated[int, Field(strict=True, ge=GRADES[0], le=GRADES[1])]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TimeslotDocument(_Document):
    label: Text
    start: Instant = Field(description="ISO 8601; without an offset it is read in the program's timezone")
    end: Instant


class SectionDocument(_Document):
    number: Annotated[int, Field(strict=True, ge=1, le=MAX_SECTION_NUMBER)]
    timeslots: Annotated[list[Text], Field(max_length=MAX_SECTION_TIMESLOTS)] = []
    room_capacity: Size | None = None
    max_class_capacity: Size | None = None


class ClassDocument(_Document):
    code: Key
    title: Text
    category: Annotated[str, StringConstraints(max_length=64)] = "General"
    grade_min: Grade | None = Field(default=None, description="Default: the program's grade range")
    grade_max: Grade | None = None
    status: str = "accepted"
    class_size_max: Size | None = None
    class_size_optimal: Size | None = None
    is_lunch: Annotated[bool, Field(strict=True)] = False
    sections: Annotated[list[SectionDocument], Field(max_length=MAX_SECTION_NUMBER)] = []


class CatalogueDocument(_Document):
    """A catalogue: timeslots, and classes with their sections (docs/importing.md)."""

    timeslots: Annotated[list[TimeslotDocument], Field(max_length=MAX_TIMESLOTS)] = []
    classes: Annotated[list[ClassDocument], Field(max_length=MAX_CLASSES)] = []


class TimeslotsDocument(_Document):
    timeslots: Annotated[list[TimeslotDocument], Field(max_length=MAX_TIMESLOTS)]


class StudentDocument(_Document):
    key: Key
    name: Text
    graduation_year: Annotated[int, Field(strict=True, ge=YEARS[0], le=YEARS[1])]
    email: Text | None = None


class StudentsDocument(_Document):
    students: Annotated[list[StudentDocument], Field(max_length=MAX_STUDENTS)]


# -- decoding with lines -------------------------------------------------------------------


class _Located(dict[str, Any]):
    """A JSON object and the line it starts on."""

    line = 1


class _Duplicate(ValueError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"key {key!r} appears twice in one object")
        self.line = line


def _decoder(text: str) -> json.JSONDecoder:
    starts = [0, *(i + 1 for i, c in enumerate(text) if c == "\n")]
    decoder = json.JSONDecoder()
    parse = cast(Callable[..., tuple[list[tuple[str, Any]], int]], json.decoder.JSONObject)  # type: ignore[attr-defined]

    def parse_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, *_hooks: Any, **__: Any) -> Any:
        pairs, end = parse(s_and_end, strict, scan_once, None, list)
        located = _Located(pairs)
        located.line = bisect_right(starts, s_and_end[1] - 1)
        if len(located) != len(pairs):
            seen = [k for k, _ in pairs]
            raise _Duplicate(next(k for i, k in enumerate(seen) if k in seen[:i]), located.line)
        return located, end

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def _load(data: bytes, what: str) -> Any:
    text = decode(data, what)
    try:
        return _decoder(text).decode(text)
    except json.JSONDecodeError as error:
        refuse([ImportIssue(error.lineno, "", f"not valid JSON: {error.msg} (column {error.colno})")], what)
    except _Duplicate as error:
        refuse([ImportIssue(error.line, "", str(error))], what)
    except (ValueError, RecursionError) as error:  # e.g. a number of thousands of digits
        refuse([ImportIssue(None, "", f"not valid JSON: {error}")], what)
    raise AssertionError("unreachable")


def _validated(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        refuse([_issue(e, data) for e in invalid.errors(include_url=False)], what)
        raise  # unreachable: refuse raised


def _issue(error: Any, data: Any) -> ImportIssue:
    """The error at the line of the innermost object its location names."""
    node, line = data, getattr(data, "line", 1)
    for part in error["loc"]:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        else:
            break
        line = getattr(node, "line", line)
    named = [p for p in error["loc"] if isinstance(p, str)]
    message = str(error["msg"]).removeprefix("Value error, ")
    return ImportIssue(line, named[-1] if named else "", message, str(error["type"]))


def _line(data: Any, *path: str | int) -> int | None:
    node = data
    for part in path:
        node = node[part]
    return cast(int | None, getattr(node, "line", None))


def _object(data: Any, what: str, key: str) -> Any:
    if not isinstance(data, dict):
        refuse([ImportIssue(1, "", f"the {what} must be a JSON object with {key!r}")], what)
    return data


# -- documents to entries --------------------------------------------------------------------


def _timeslots(doc: list[TimeslotDocument], data: Any) -> tuple[TimeslotEntry, ...]:
    return tuple(TimeslotEntry(t.label, t.start, t.end, _line(data, "timeslots", i)) for i, t in enumerate(doc))


def catalogue_from_json(data: bytes, what: str = "catalogue") -> Catalogue:
    raw = _object(_load(data, what), what, "classes")
    doc = _validated(CatalogueDocument, raw, what)
    classes = []
    for i, c in enumerate(doc.classes):
        sections = tuple(
            SectionEntry(
                s.number,
                tuple(s.timeslots),
                s.room_capacity,
                s.max_class_capacity,
                _line(raw, "classes", i, "sections", j),
            )
            for j, s in enumerate(c.sections)
        )
        fields = c.model_dump(exclude={"sections"})
        classes.append(ClassEntry(**fields, sections=sections, line=_line(raw, "classes", i)))
    return Catalogue(timeslots=_timeslots(doc.timeslots, raw), classes=tuple(classes))


def timeslots_from_json(data: bytes, what: str = "timeslots file") -> tuple[TimeslotEntry, ...]:
    raw = _object(_load(data, what), what, "timeslots")
    return _timeslots(_validated(TimeslotsDocument, raw, what).timeslots, raw)


def students_from_json(data: bytes, what: str = "student list") -> list[StudentEntry]:
    raw = _object(_load(data, what), what, "students")
    doc = _validated(StudentsDocument, raw, what)
    return [
        StudentEntry(s.key, s.name, s.graduation_year, s.email, _line(raw, "students", i))
        for i, s in enumerate(doc.students)
    ]
