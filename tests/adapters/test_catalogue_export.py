"""Exporting a catalogue from the views in the import formats, and importing it back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.exporting import catalogue_csv, catalogue_from_views, catalogue_json, timeslots_csv
from regledger.adapters.importing import read_catalogue
from regledger.domain.catalogue_entries import Catalogue, ClassEntry, SectionEntry
from regledger.domain.errors import InvalidInputError
from regledger.domain.ids import program_id
from regledger.domain.values import CommandContext

EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def admin() -> CommandContext:
    return CommandContext(actor="admin:test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def services(request: pytest.FixtureRequest) -> Iterator[Services]:
    built = build(request.getfixturevalue(f"{request.param}_settings"), follow=True)
    yield built
    built.close()


def imported(services: Services, slug: str, timezone: str = "America/Chicago"):
    app = services.app
    app.create_program(slug, "Splash", admin(), school_year=2027, settings={"timezone": timezone})
    catalogue = read_catalogue((EXAMPLES / "catalogue.json").read_bytes(), "json")
    app.import_catalogue(program_id(slug), catalogue, admin())
    services.wait_for(app.position(), timeout=10)
    program = services.views.program(program_id(slug))
    assert program is not None
    return catalogue_from_views(services.views, program)


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_an_exported_catalogue_imported_back_changes_nothing(services, fmt):
    exported = imported(services, "splash")
    if fmt == "csv":
        back = read_catalogue(catalogue_csv(exported).encode(), "csv", timeslots_csv(exported).encode())
    else:
        back = read_catalogue(catalogue_json(exported).encode(), "json")
    head = services.app.position()
    result = services.app.import_catalogue(program_id("splash"), back, admin())
    assert result.outcome == "Unchanged"
    assert (result.created, result.changed) == (0, 0)
    assert result.counts["section"]["unchanged"] == 5
    assert result.counts["timeslot"]["unchanged"] == 4
    assert services.app.position() == head


def test_an_export_imported_into_another_program_recreates_the_catalogue(services):
    exported = imported(services, "fall")
    text, slots = catalogue_csv(exported), timeslots_csv(exported)
    services.app.create_program("spring", "Spring", admin(), school_year=2027, settings={"timezone": "Europe/Berlin"})
    services.app.import_catalogue(program_id("spring"), read_catalogue(text.encode(), "csv", slots.encode()), admin())
    services.wait_for(services.app.position(), timeout=10)
    spring = services.views.program(program_id("spring"))
    assert spring is not None
    again = catalogue_from_views(services.views, spring)
    assert catalogue_csv(again) == text
    assert [(t.start, t.end) for t in again.timeslots] == [(t.start, t.end) for t in exported.timeslots]


def test_a_label_holding_the_csv_separator_is_exported_as_json_only():
    catalogue = Catalogue(classes=(ClassEntry("M1", "Knots", sections=(SectionEntry(1, ("Sat; 9:00",)),)),))
    with pytest.raises(InvalidInputError, match="export it as JSON"):
        catalogue_csv(catalogue)
    assert read_catalogue(catalogue_json(catalogue).encode(), "json").classes[0].sections[0].timeslots == ("Sat; 9:00",)
