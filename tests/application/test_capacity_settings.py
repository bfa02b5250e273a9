"""The program's capacity multiplier and offset apply to every section, as ESP computes capacity
on read (§6.5): changing them re-sizes the sections in one recorded change; seats stay taken."""

from __future__ import annotations

from uuid import UUID

from regledger.domain.application import Registration
from tests.application.conftest import World, admin, build_world
from tests.application.test_commands import FULL, refused_without_writing


def big_world(app: Registration, seats: int = 37) -> World:
    w = build_world(app, settings={"waitlist_enabled": True})
    w.subject("big", "Big", class_size_max=seats)
    w.section("big1", "big", [0])
    w.section("big2", "big", [1], max_class_capacity=10)
    return w


def test_a_multiplier_resizes_every_section_with_the_references_truncation(app: Registration) -> None:
    """The issue's case: a 37-seat section stays 37 after multiplier 0.6; now it is int(22.2)."""
    w = big_world(app)
    result = w.app.change_settings(w.program_id, {"class_cap_multiplier": "0.6"}, admin())
    assert (w.get_section("big1").capacity, w.get_section("big2").capacity) == (22, 6)
    assert result.ids["resized_sections"] == "2"
    w.app.change_settings(w.program_id, {"class_cap_offset": 3}, admin())
    assert (w.get_section("big1").capacity, w.get_section("big2").capacity) == (25, 9)
    w.app.change_settings(w.program_id, {"class_cap_multiplier": "0", "class_cap_offset": -5}, admin())
    assert w.get_section("big1").capacity == 0  # clamped at zero


def test_the_resize_is_one_recorded_change(app: Registration) -> None:
    w = big_world(app)
    result = w.app.change_settings(w.program_id, {"class_cap_multiplier": "1.5"}, admin(command_id="bigger-rooms"))
    for name in ("big1", "big2"):
        events = [e for e in w.app.events.get(w.sections[name]) if e.command_id == "bigger-rooms"]
        assert [type(e).__name__ for e in events] == ["CapacityChanged"]
    again = w.app.change_settings(w.program_id, {"class_cap_multiplier": "1.5"}, admin(command_id="bigger-rooms"))
    assert again.replayed
    assert again.position == result.position


def test_seats_already_taken_stay_taken(app: Registration) -> None:
    w = big_world(app, seats=4)
    for key in ("alice", "bob", "carol"):
        w.profile(key)
        w.add(key, "big1")
    result = w.app.change_settings(w.program_id, {"class_cap_multiplier": "0.5"}, admin())
    section = w.get_section("big1")
    assert (section.capacity, len(section.enrolled)) == (2, 3)
    assert result.warnings
    assert "1 sections now hold more students than their capacity" in str(result.warnings[0])
    w.profile("dave")
    refused_without_writing(w, "section_full", FULL, lambda: w.add("dave", "big1"))


def test_seats_gained_go_to_the_waitlist(app: Registration) -> None:
    w = big_world(app, seats=1)
    for key in ("alice", "bob"):
        w.profile(key)
    w.add("alice", "big1")
    w.waitlist("bob", "big1")
    result = w.app.change_settings(w.program_id, {"class_cap_multiplier": "2"}, admin())
    assert result.ids["promoted"] == "bob"
    assert set(w.get_section("big1").enrolled) == {w.student_id("alice"), w.student_id("bob")}


def test_the_lottery_reads_the_new_capacity(app: Registration) -> None:
    w = big_world(app)
    w.app.change_settings(w.program_id, {"class_cap_multiplier": "0.6"}, admin())
    lottery_input = w.app.lottery_input(w.program_id, w.position())
    capacities = {s.id: s.capacity for s in lottery_input.sections}
    assert capacities[UUID(str(w.sections["big1"]))] == 22


def test_other_settings_resize_nothing(app: Registration) -> None:
    w = big_world(app)
    result = w.app.change_settings(w.program_id, {"priority_limit": 5}, admin())
    assert "resized_sections" not in result.ids
    assert w.get_section("big1").capacity == 37
