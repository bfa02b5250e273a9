"""The big board's aggregates (`projections.board`) on every store, against the commands made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from regledger.adapters.projector import Projector
from regledger.adapters.settings import Settings
from regledger.domain.ids import section_id, subject_id
from tests.projections.test_catalogue_views import PROGRAM, ctx, projected


def test_board_counts_waitlists_stars_activity_and_commands(
    store_settings: Settings, make_app: Any, make_views: Any
) -> None:
    app, views = projected(store_settings, make_app, make_views)
    started = datetime.now(UTC) - timedelta(minutes=10)
    assert views.waitlisted_students(PROGRAM) == 1  # cy, on Origami's waitlist
    assert views.class_stars(PROGRAM) == {}
    activity = views.enrolment_activity(PROGRAM)
    assert (sum(a.enrolments for a in activity), sum(a.drops for a in activity)) == (2, 0)  # ada and bob
    assert all(a.hour.minute == 0 and a.hour.tzinfo is not None for a in activity)
    assert views.commands_since(PROGRAM, started) == 3  # two adds and a waitlist place

    math = subject_id(PROGRAM, "M101")
    app.star(PROGRAM, "bob", math, ctx())
    app.star(PROGRAM, "cy", math, ctx())
    app.drop_section(PROGRAM, "ada", section_id(math, 1), ctx())
    Projector(app, views).catch_up()
    assert views.class_stars(PROGRAM) == {math: 2}
    activity = views.enrolment_activity(PROGRAM)
    assert (sum(a.enrolments for a in activity), sum(a.drops for a in activity)) == (2, 1)
    assert [a.hour for a in activity] == sorted(a.hour for a in activity)
    assert views.commands_since(PROGRAM, started) == 4  # the drop too; stars are not registrations
    assert views.commands_since(PROGRAM, datetime.now(UTC) + timedelta(minutes=1)) == 0
