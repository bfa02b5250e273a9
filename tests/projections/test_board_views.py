"""The big board's aggregates (`projections.board`) on every store, against the commands made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from regledger.adapters.projector import Projector
from regledger.adapters.settings import Settings
from regledger.domain.ids import section_id, subject_id
from regledger.projections.board import RecentCommands
from tests.projections.test_catalogue_views import PROGRAM, ctx, projected


def test_board_counts_waitlists_stars_activity_and_commands(
    store_settings: Settings, make_app: Any, make_views: Any
) -> None:
    app, views = projected(store_settings, make_app, make_views)
    started = datetime.now(UTC) - timedelta(minutes=10)
    assert views.waitlisted_students(PROGRAM) == 1  # cy, on Origami's waitlist
    loads = {c.code: c for c in views.class_loads(PROGRAM)}
    assert list(loads) == ["A7", "L1", "M101"]  # Z9 has no section
    assert (loads["A7"].title, loads["A7"].capacity, loads["A7"].enrolled, loads["A7"].full_sections) == (
        "Origami",
        1,
        1,
        1,
    )
    assert (loads["M101"].sections, loads["M101"].capacity, loads["M101"].enrolled) == (2, 4, 1)
    assert loads["M101"].subject_id == subject_id(PROGRAM, "M101")
    assert views.class_stars(PROGRAM) == {}
    activity = views.enrolment_activity(PROGRAM)
    assert (sum(a.enrolments for a in activity), sum(a.drops for a in activity)) == (2, 0)  # ada and bob
    assert all(a.hour.minute == 0 and a.hour.tzinfo is not None for a in activity)
    # The season's commands: the program, 3 timeslots, a window, 4 classes, 4 sections, 3
    # profiles, 2 adds and a waitlist place.
    recent = views.recent_commands(PROGRAM, started, 1000)
    assert (recent.commands, recent.oldest is not None) == (19, True)
    assert recent.events >= 19
    newest = views.recent_commands(PROGRAM, started, 3)  # the join_waitlist's events, then add_section's
    assert (newest.events, newest.commands) == (3, 2)

    math = subject_id(PROGRAM, "M101")
    app.star(PROGRAM, "bob", math, ctx())
    app.star(PROGRAM, "cy", math, ctx())
    app.drop_section(PROGRAM, "ada", section_id(math, 1), ctx())
    Projector(app, views).catch_up()
    loads = {c.code: c for c in views.class_loads(PROGRAM)}
    assert (loads["M101"].enrolled, loads["M101"].full_sections) == (0, 0)
    assert views.class_stars(PROGRAM) == {math: 2}
    activity = views.enrolment_activity(PROGRAM)
    assert (sum(a.enrolments for a in activity), sum(a.drops for a in activity)) == (2, 1)
    assert [a.hour for a in activity] == sorted(a.hour for a in activity)
    assert views.recent_commands(PROGRAM, started, 1000).commands == 22  # two stars and the drop
    assert views.recent_commands(PROGRAM, datetime.now(UTC) + timedelta(minutes=1), 1000) == RecentCommands(0, 0, None)
