"""Reading import files into the domain's import entries, each with the line it came from.

A catalogue is CSV (one row per section, the class columns repeated; a class row without a
section) or JSON (`CatalogueDocument`); timeslots are CSV (`label,start,end`) or part of a JSON
catalogue; students are CSV or JSON. The formats are documented in docs/importing.md.

A file that cannot be read (not UTF-8, empty, a line over 1,000,000 characters, too many rows,
a missing or unknown column, a cell that is not a number) is refused with every such error and
its line (`InvalidInputError`, `detail.errors`); the command then checks the entries against
the program and reports its own errors the same way.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from regledger.adapters.import_json import catalogue_from_json, students_from_json, timeslots_from_json
from regledger.adapters.import_text import Format, decode, instant
from regledger.domain.catalogue_entries import (
    MAX_SECTIONS,
    MAX_TIMESLOTS,
    Catalogue,
    ClassEntry,
    SectionEntry,
    TimeslotEntry,
)
from regledger.domain.imports import ImportIssue, refuse
from regledger.domain.student_import import MAX_STUDENTS, StudentEntry

MAX_LINE_CHARS = 1_000_000
MAX_CATALOGUE_ROWS = MAX_SECTIONS
MAX_STUDENT_ROWS = MAX_STUDENTS
LABEL_SEPARATOR = ";"  # between the timeslot labels of a section in a CSV cell

CLASS_COLUMNS = (
    "code",
    "title",
    "category",
    "grade_min",
    "grade_max",
    "status",
    "class_size_max",
    "class_size_optimal",
    "is_lunch",
)
SECTION_COLUMNS = ("section", "timeslots", "room_capacity", "max_class_capacity")
CATALOGUE_COLUMNS = CLASS_COLUMNS + SECTION_COLUMNS
TIMESLOT_COLUMNS = ("label", "start", "end")
STUDENT_COLUMNS = ("key", "name", "graduation_year", "email")

_WHOLE = re.compile(r"-?[0-9]{1,9}")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})


# -- CSV records ---------------------------------------------------------------------------


class _LineTooLong(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _lines(text: str) -> Iterator[str]:
    for number, line in enumerate(io.StringIO(text, newline=""), start=1):
        if len(line) > MAX_LINE_CHARS:
            raise _LineTooLong(number)
        yield line


@dataclass(frozen=True)
class Row:
    line: int
    cells: Mapping[str, str]  # column -> stripped cell ("" when the row is short)


@dataclass(frozen=True)
class Table:
    line: int  # of the header
    columns: tuple[str, ...]
    rows: list[Row]


def csv_table(
    text: str, what: str, *, columns: Sequence[str], required: Sequence[str], max_rows: int, errors: list[ImportIssue]
) -> Table:
    """The header and the rows under it, keyed by column; problems go to `errors` with their line."""
    rows: list[Row] = []
    header: tuple[int, list[str]] | None = None
    reader = csv.reader(_lines(text), strict=True)
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue  # blank lines (and rows of empty cells) are skipped
            if header is None:
                header = (line, _header(cells, line, columns, required, errors))
                continue
            if len(rows) == max_rows:
                errors.append(ImportIssue(line, "", f"the {what} has more than {max_rows} rows"))
                break
            rows.append(_row(cells, line, header[1], errors))
    except _LineTooLong as long_line:
        errors.append(ImportIssue(long_line.line, "", f"a line is longer than {MAX_LINE_CHARS} characters"))
    except csv.Error as error:
        errors.append(ImportIssue(reader.line_num or start, "", f"not valid CSV: {error}"))
    if header is not None and not rows and not errors:
        errors.append(ImportIssue(header[0], "", f"the {what} has a header but no rows"))
    line, names = header or (1, [])
    return Table(line, tuple(n for n in names if n), rows)


def _header(
    cells: list[str], line: int, columns: Sequence[str], required: Sequence[str], errors: list[ImportIssue]
) -> list[str]:
    names = [c.strip().lower() for c in cells]
    for i, name in enumerate(names):
        if name and name not in columns:
            errors.append(ImportIssue(line, name, f"unknown column {name!r} (the columns are: {', '.join(columns)})"))
        elif name and name in names[:i]:
            errors.append(ImportIssue(line, name, f"column {name!r} appears twice"))
    missing = [c for c in required if c not in names]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        errors.append(ImportIssue(line, missing[0], f"missing column{plural}: {', '.join(missing)}"))
    return names


def _row(cells: list[str], line: int, header: list[str], errors: list[ImportIssue]) -> Row:
    extra = [c for c in cells[len(header) :] if c.strip()]
    if extra:
        errors.append(ImportIssue(line, "", f"{len(cells)} cells but the header has {len(header)} columns"))
    values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
    return Row(line, values)


# -- cells ---------------------------------------------------------------------------------


def whole(row: Row, column: str, errors: list[ImportIssue]) -> int | None:
    """A whole number (an empty cell is None)."""
    text = row.cells.get(column, "")
    if not text:
        return None
    if not _WHOLE.fullmatch(text):
        errors.append(ImportIssue(row.line, column, f"{column} must be a whole number, not {text!r}"))
        return None
    return int(text)


def flag(row: Row, column: str, errors: list[ImportIssue]) -> bool:
    text = row.cells.get(column, "").lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    errors.append(ImportIssue(row.line, column, f"{column} must be true or false (or yes/no, 1/0), not {text!r}"))
    return False


def _when(row: Row, column: str, errors: list[ImportIssue]) -> datetime | None:
    try:
        return instant(row.cells.get(column, ""))
    except ValueError as error:
        errors.append(ImportIssue(row.line, column, f"{column} {error}"))
        return None


# -- CSV files -----------------------------------------------------------------------------


def catalogue_from_csv(data: bytes, what: str = "catalogue") -> Catalogue:
    """Classes and sections; one row per section with the class columns repeated on each."""
    errors: list[ImportIssue] = []
    text = decode(data, what)
    table = csv_table(
        text, what, columns=CATALOGUE_COLUMNS, required=("code", "title"), max_rows=MAX_CATALOGUE_ROWS, errors=errors
    )
    sectioned = [c for c in SECTION_COLUMNS[1:] if c in table.columns]
    if sectioned and "section" not in table.columns:
        message = f"missing column: section (it numbers the sections that {', '.join(sectioned)} describe)"
        errors.append(ImportIssue(table.line, "section", message))
    refuse(errors, what)
    classes: dict[str, tuple[ClassEntry, list[SectionEntry]]] = {}
    for row in table.rows:
        entry, section = _class_of(row, errors), _section_of(row, errors)
        if not entry.code:
            errors.append(ImportIssue(row.line, "code", "code is missing"))
            continue
        first = classes.setdefault(entry.code, (entry, []))[0]
        differ = [c for c in CLASS_COLUMNS if getattr(first, c) != getattr(entry, c)]
        if differ:
            message = (
                f"class {entry.code} differs from line {first.line} in {', '.join(differ)}: "
                "the class columns repeat the same values on every row of a class"
            )
            errors.append(ImportIssue(row.line, differ[0], message))
        if section is not None:
            classes[entry.code][1].append(section)
    refuse(errors, what)
    return Catalogue(classes=tuple(_with_sections(e, s) for e, s in classes.values()))


def _with_sections(entry: ClassEntry, sections: list[SectionEntry]) -> ClassEntry:
    return dataclasses.replace(entry, sections=tuple(sections))


def _class_of(row: Row, errors: list[ImportIssue]) -> ClassEntry:
    cells = row.cells
    return ClassEntry(
        code=cells["code"],
        title=cells["title"],
        category=cells.get("category") or "General",
        grade_min=whole(row, "grade_min", errors),
        grade_max=whole(row, "grade_max", errors),
        status=cells.get("status") or "accepted",
        class_size_max=whole(row, "class_size_max", errors),
        class_size_optimal=whole(row, "class_size_optimal", errors),
        is_lunch=flag(row, "is_lunch", errors),
        line=row.line,
    )


def _section_of(row: Row, errors: list[ImportIssue]) -> SectionEntry | None:
    number = whole(row, "section", errors)
    labels = row.cells.get("timeslots", "")
    if number is None:
        if not row.cells.get("section") and any(row.cells.get(c) for c in SECTION_COLUMNS):
            errors.append(ImportIssue(row.line, "section", "a row with timeslots or capacities needs a section number"))
        return None
    names = [part.strip() for part in labels.split(LABEL_SEPARATOR)] if labels else []
    if any(not name for name in names):
        errors.append(
            ImportIssue(row.line, "timeslots", f"an empty timeslot label (labels are separated by {LABEL_SEPARATOR!r})")
        )
    return SectionEntry(
        number=number,
        timeslots=tuple(n for n in names if n),
        room_capacity=whole(row, "room_capacity", errors),
        max_class_capacity=whole(row, "max_class_capacity", errors),
        line=row.line,
    )


def timeslots_from_csv(data: bytes, what: str = "timeslots file") -> tuple[TimeslotEntry, ...]:
    errors: list[ImportIssue] = []
    text = decode(data, what)
    table = csv_table(
        text, what, columns=TIMESLOT_COLUMNS, required=TIMESLOT_COLUMNS, max_rows=MAX_TIMESLOTS, errors=errors
    )
    refuse(errors, what)
    entries = []
    for row in table.rows:
        start, end = _when(row, "start", errors), _when(row, "end", errors)
        if start is not None and end is not None:
            entries.append(TimeslotEntry(row.cells["label"], start, end, row.line))
    refuse(errors, what)
    return tuple(entries)


def students_from_csv(data: bytes, what: str = "student list") -> list[StudentEntry]:
    errors: list[ImportIssue] = []
    text = decode(data, what)
    table = csv_table(
        text, what, columns=STUDENT_COLUMNS, required=STUDENT_COLUMNS[:3], max_rows=MAX_STUDENT_ROWS, errors=errors
    )
    refuse(errors, what)
    entries = []
    for row in table.rows:
        year = whole(row, "graduation_year", errors)
        if year is None and not row.cells["graduation_year"]:
            errors.append(ImportIssue(row.line, "graduation_year", "graduation_year is missing"))
        if year is not None:
            email = row.cells.get("email") or None
            entries.append(StudentEntry(row.cells["key"], row.cells["name"], year, email, row.line))
    refuse(errors, what)
    return entries


# -- either format -------------------------------------------------------------------------


def read_catalogue(data: bytes, fmt: Format, timeslots: bytes | None = None) -> Catalogue:
    """A catalogue file, plus the timeslots of a separate timeslots CSV if given."""
    catalogue = catalogue_from_json(data) if fmt == "json" else catalogue_from_csv(data)
    if timeslots is None:
        return catalogue
    return Catalogue(timeslots=catalogue.timeslots + timeslots_from_csv(timeslots), classes=catalogue.classes)


def read_timeslots(data: bytes, fmt: Format) -> tuple[TimeslotEntry, ...]:
    return timeslots_from_json(data) if fmt == "json" else timeslots_from_csv(data)


def read_students(data: bytes, fmt: Format) -> list[StudentEntry]:
    return students_from_json(data) if fmt == "json" else students_from_csv(data)
