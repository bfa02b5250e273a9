"""Unenroll all: a registrar ends every visible registration of a student in one command."""

from __future__ import annotations

import pytest

from tests.application.conftest import World, admin
from tests.application.test_commands import refused_without_writing


@pytest.fixture
def w(world: World) -> World:
    world.app.change_settings(world.program_id, {"waitlist_enabled": True}, admin())
    return world


def test_every_seat_and_waitlist_place_ends_in_one_save_and_the_seats_go_to_the_queue(w: World) -> None:
    w.subject("music", "Music")
    w.section("music1", "music", [2])
    w.add("alice", "art1")  # art1's one seat
    w.add("alice", "music1")
    w.add("carol", "math1")
    w.add("bob", "math1")  # math1 is full now
    w.waitlist("alice", "math1")
    w.profile("dave")
    w.waitlist("dave", "art1")
    w.star("alice", "math")
    result = w.app.unenroll_all(w.program_id, "alice", admin(reason="went home ill", command_id="ill-1"))
    assert result.ids == {"ended": "3", "sections": "3", "promoted": "dave"}
    alice = w.get_student("alice")
    assert alice.holding("Enrolled") == []
    assert alice.holding("Waitlisted") == []
    assert alice.stars  # preferences are not registrations a registrar ends here
    assert w.get_section("math1").waitlist == []
    assert w.student_id("dave") in w.get_section("art1").enrolled
    events = [e for name in ("art1", "music1") for e in w.app.events.get(w.sections[name])]
    ended = [e for e in events if getattr(e, "command_id", "") == "ill-1" and type(e).__name__ == "StudentUnenrolled"]
    assert [(e.cause, e.reason) for e in ended] == [("unenroll_all", "went home ill")] * 2
    again = w.app.unenroll_all(w.program_id, "alice", admin(reason="went home ill", command_id="ill-1"))
    assert again.replayed


def test_a_student_with_nothing_to_end_is_refused(w: World) -> None:
    w.star("alice", "math")
    ctx = admin(reason="left")
    refused_without_writing(w, "not_registered", None, lambda: w.app.unenroll_all(w.program_id, "alice", ctx))


def test_a_reason_is_required(w: World) -> None:
    w.add("alice", "art1")
    refused_without_writing(w, "invalid_input", None, lambda: w.app.unenroll_all(w.program_id, "alice", admin()))


def test_an_unknown_student_is_not_found(w: World) -> None:
    ctx = admin(reason="left")
    refused_without_writing(w, "not_found", None, lambda: w.app.unenroll_all(w.program_id, "nobody", ctx))
