"""Writing a catalogue in the import formats (docs/importing.md), from the views or from entries.

What `regledger export catalogue` prints is what `regledger import catalogue` reads: imported
back into the same program it changes nothing. Times are written with their offset, in the
program's timezone, so they read back as the same instants wherever they are imported.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from regledger.adapters.importing import CATALOGUE_COLUMNS, LABEL_SEPARATOR, TIMESLOT_COLUMNS
from regledger.domain.catalogue_entries import Catalogue, ClassEntry, SectionEntry, TimeslotEntry
from regledger.domain.errors import InvalidInputError
from regledger.projections.catalogue import CatalogueViews, ProgramView


def catalogue_from_views(views: CatalogueViews, program: ProgramView) -> Catalogue:
    """The program's timeslots and every class with every section, as the views hold them."""
    zone = ZoneInfo(program.timezone)
    timeslots = tuple(
        TimeslotEntry(t.label, t.starts.astimezone(zone), t.ends.astimezone(zone))
        for t in views.timeslots(program.program_id)
    )
    classes = tuple(
        ClassEntry(
            code=c.code,
            title=c.title,
            category=c.category,
            grade_min=c.grade_min,
            grade_max=c.grade_max,
            status=c.status,
            class_size_max=c.class_size_max,
            class_size_optimal=c.class_size_optimal,
            is_lunch=c.is_lunch,
            sections=tuple(
                SectionEntry(s.index, tuple(t.label for t in s.timeslots), s.room_capacity, s.max_class_capacity)
                for s in c.sections
            ),
        )
        for c in views.classes(program.program_id)
    )
    return Catalogue(timeslots=timeslots, classes=classes)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _writer(out: io.StringIO) -> Any:
    return csv.writer(out, lineterminator="\n")


def catalogue_csv(catalogue: Catalogue) -> str:
    """One row per section with the class columns repeated; a class without sections gets one
    row without a section (the timeslots go in their own file: `timeslots_csv`)."""
    out = io.StringIO()
    writer = _writer(out)
    writer.writerow(CATALOGUE_COLUMNS)
    for c in catalogue.classes:
        cells = [c.code, c.title, c.category, c.grade_min, c.grade_max, c.status]
        cells += [c.class_size_max, c.class_size_optimal, c.is_lunch]
        if not c.sections:
            writer.writerow([_cell(v) for v in (*cells, None, None, None, None)])
        for s in c.sections:
            labels = LABEL_SEPARATOR.join(_label(label) for label in s.timeslots)
            writer.writerow([_cell(v) for v in (*cells, s.number, labels, s.room_capacity, s.max_class_capacity)])
    return out.getvalue()


def _label(label: str) -> str:
    if LABEL_SEPARATOR in label:
        raise InvalidInputError(
            f"The timeslot label {label!r} holds {LABEL_SEPARATOR!r}, which separates labels in a CSV "
            "catalogue; export it as JSON instead",
            label=label,
        )
    return label


def timeslots_csv(catalogue: Catalogue) -> str:
    out = io.StringIO()
    writer = _writer(out)
    writer.writerow(TIMESLOT_COLUMNS)
    for t in catalogue.timeslots:
        writer.writerow([_cell(t.label), _cell(t.start), _cell(t.end)])
    return out.getvalue()


def catalogue_json(catalogue: Catalogue) -> str:
    """The JSON catalogue document (timeslots, and classes with their sections)."""
    document = {
        "timeslots": [{"label": t.label, "start": _cell(t.start), "end": _cell(t.end)} for t in catalogue.timeslots],
        "classes": [
            {
                "code": c.code,
                "title": c.title,
                "category": c.category,
                "grade_min": c.grade_min,
                "grade_max": c.grade_max,
                "status": c.status,
                "class_size_max": c.class_size_max,
                "class_size_optimal": c.class_size_optimal,
                "is_lunch": c.is_lunch,
                "sections": [
                    {
                        "number": s.number,
                        "timeslots": list(s.timeslots),
                        "room_capacity": s.room_capacity,
                        "max_class_capacity": s.max_class_capacity,
                    }
                    for s in c.sections
                ],
            }
            for c in catalogue.classes
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
