"""Hostile input refused in the domain itself (whatever the edge lets through), on every store.

Each refusal writes nothing: control characters in any stored text, keys with a trailing
newline, verbs a student may not use, and a command id reused for a different request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from regledger.adapters.auth import MemoryTokenStore
from regledger.domain.errors import RegistrationError
from regledger.domain.values import STUDENT_CATEGORY, CommandContext, check_key
from tests.application.conftest import DAY, SCHOOL_YEAR, World, admin, as_student

NUL = "\u0000"
HOSTILE = [NUL, "\x1b[31m", "\u202e", "\ud800", "\x7f", "\r"]
HOSTILE_IDS = ["NUL", "ESC", "RLO", "surrogate", "DEL", "CR"]


def refused(world: World, code: str, command: Callable[[], Any]) -> RegistrationError:
    before = world.position()
    with pytest.raises(RegistrationError) as info:
        command()
    assert info.value.code == code, info.value
    assert world.position() == before, "a refused command wrote events"
    return info.value


# Each entry: a text field and a command that stores the given text there.
TEXT_FIELDS: list[tuple[str, Callable[[World, str], Any]]] = [
    ("program title", lambda w, t: w.app.create_program("p2", f"Splash{t}", admin(), school_year=SCHOOL_YEAR)),
    (
        "timeslot label",
        lambda w, t: w.app.add_timeslot(
            w.program_id, f"late{t}", DAY + timedelta(hours=5), DAY + timedelta(hours=6), admin()
        ),
    ),
    ("class title", lambda w, t: w.app.add_subject(w.program_id, "music", f"Music{t}", admin())),
    ("class category", lambda w, t: w.app.add_subject(w.program_id, "music", "Music", admin(), category=f"Arts{t}")),
    ("full text", lambda w, t: w.app.change_settings(w.program_id, {"temporarily_full_text": f"Full{t}"}, admin())),
    ("visible verb", lambda w, t: w.app.change_settings(w.program_id, {"visible_verbs": [f"Enrolled{t}"]}, admin())),
    ("student verb", lambda w, t: w.app.change_settings(w.program_id, {"student_verbs": [f"Asked{t}"]}, admin())),
    (
        "constraint label",
        lambda w, t: w.app.add_constraint(w.program_id, f"take math{t}", {"op": "true"}, {"op": "true"}, admin()),
    ),
    (
        "lunch category",
        lambda w, t: w.app.add_lunch_constraints(w.program_id, [w.timeslots[1]], f"Lunch{t}", admin()),
    ),
    ("profile name", lambda w, t: w.app.submit_profile(w.program_id, "zed", f"Zed{t}", 2029, {}, as_student("zed"))),
    (
        "contact",
        lambda w, t: w.app.submit_profile(
            w.program_id, "zed", "Zed", 2029, {"email": f"z{t}@x.org"}, as_student("zed")
        ),
    ),
    ("reason", lambda w, t: w.add("alice", "art1", as_student("alice", reason=f"because{t}"))),
    ("verb", lambda w, t: w.add("alice", "art1", verb=f"Interested{t}")),
    ("drop verb", lambda w, t: w.drop("alice", "art1", verbs=[f"Enrolled{t}"])),
]


@pytest.mark.parametrize("character", HOSTILE, ids=HOSTILE_IDS)
@pytest.mark.parametrize(("field", "command"), TEXT_FIELDS, ids=[f for f, _ in TEXT_FIELDS])
def test_control_characters_are_refused_in_every_stored_text(
    world: World, field: str, command: Callable[[World, str], Any], character: str
) -> None:
    code = "malformed_constraint" if field == "constraint label" else "invalid_input"
    refused(world, code, lambda: command(world, character))


@pytest.mark.parametrize("character", HOSTILE, ids=HOSTILE_IDS)
def test_a_constraint_label_with_control_characters_is_malformed(world: World, character: str) -> None:
    refused(
        world,
        "malformed_constraint",
        lambda: world.app.add_constraint(world.program_id, f"x{character}", {"op": "true"}, {"op": "true"}, admin()),
    )


def test_a_reason_is_multi_line_text(world: World) -> None:
    result = world.add("alice", "art1", as_student("alice", reason="first line\n\tsecond line"))
    assert result.outcome == "SectionRegistered"
    refused(world, "invalid_input", lambda: world.add("bob", "art1", as_student("bob", reason="a\r\nb")))


def test_a_title_keeps_any_printable_script(world: World) -> None:
    world.app.add_subject(world.program_id, "kanji", "漢字 & émigré — 🎉 ZWJ\u200dok", admin())


@pytest.mark.parametrize("bad", ["mallory\n", "mallory\r", "\nmallory", "mal lory", "mallory\x00"])
def test_keys_are_matched_whole(bad: str) -> None:
    with pytest.raises(RegistrationError):
        check_key(bad, "student_key")
    with pytest.raises(RegistrationError):
        MemoryTokenStore().create("admin", bad)


@pytest.mark.parametrize("key", ["alice\n", "alice\ud800", "al ice"])
def test_a_malformed_student_key_writes_nothing(world: World, key: str) -> None:
    refused(world, "invalid_input", lambda: world.add(key, "art1"))


# -- verbs -------------------------------------------------------------------------------


def test_a_student_cannot_invent_a_verb(world: World) -> None:
    before = set(world.app.get_map(category=STUDENT_CATEGORY))
    error = refused(world, "verb_not_allowed", lambda: world.add("alice", "art1", verb="x"))
    assert "x" in error.message
    assert set(world.app.get_map(category=STUDENT_CATEGORY)) == before


def test_a_student_cannot_rank_through_registrations(world: World) -> None:
    error = refused(world, "verb_not_allowed", lambda: world.add("alice", "art1", verb="Priority/1"))
    assert "priorities" in error.message


@pytest.mark.parametrize("verb", ["x\x1b[2J", "a\u202eb", "V" * 33, "Enrolled\n"])
def test_verb_names_are_printable_and_bounded_even_for_admins(world: World, verb: str) -> None:
    ctx = admin(override=True, reason="testing")
    refused(world, "invalid_input", lambda: world.add("alice", "art1", ctx, verb=verb))


def test_the_program_names_the_verbs_its_students_may_use(world: World) -> None:
    world.app.change_settings(world.program_id, {"student_verbs": ["Request"]}, admin())
    assert world.add("alice", "art1", verb="Request").ids["verb"] == "Request"
    refused(world, "verb_not_allowed", lambda: world.add("bob", "art1", verb="Interested"))
    assert world.add("bob", "art1", admin(override=True, reason="asked at the desk"), verb="Attended").ids["verb"]


# -- idempotency keys --------------------------------------------------------------------

KEY = "K-123"


# Each entry: a second request under the same key as an enrolment of alice in art1.
OTHER_REQUESTS: list[tuple[str, Callable[[World, CommandContext], Any]]] = [
    ("enrol elsewhere", lambda w, ctx: w.add("alice", "math1", ctx)),
    ("drop", lambda w, ctx: w.drop("alice", "art1", ctx)),
    ("switch", lambda w, ctx: w.switch("alice", "art1", "art2", ctx)),
    ("profile", lambda w, ctx: w.app.submit_profile(w.program_id, "alice", "Al", 2029, {}, ctx)),
    ("same section, other verb", lambda w, ctx: w.add("alice", "art1", ctx, verb="Interested")),
    ("star", lambda w, ctx: w.star("alice", "art", ctx)),
]


@pytest.mark.parametrize(("name", "command"), OTHER_REQUESTS, ids=[n for n, _ in OTHER_REQUESTS])
def test_a_key_reused_for_another_request_is_refused(
    world: World, name: str, command: Callable[[World, CommandContext], Any]
) -> None:
    world.sections.setdefault("art2", world.section("art2", "art", [2]))
    first = world.add("alice", "art1", as_student("alice", command_id=KEY))
    assert not first.replayed
    refused(world, "idempotency_key_reused", lambda: command(world, as_student("alice", command_id=KEY)))
    assert world.enrolled_keys("art1") >= {"alice"}


def test_the_same_request_under_the_same_key_replays(world: World) -> None:
    first = world.add("alice", "art1", as_student("alice", command_id=KEY))
    position = world.position()
    again = world.add("alice", "art1", as_student("alice", command_id=KEY))
    assert again.replayed
    assert again.outcome == first.outcome
    assert world.position() == position


def test_a_key_reused_on_an_admin_command_is_refused(world: World) -> None:
    world.app.change_settings(world.program_id, {"priority_limit": 4}, admin(command_id="S"))
    refused(
        world,
        "idempotency_key_reused",
        lambda: world.app.change_settings(world.program_id, {"priority_limit": 5}, admin(command_id="S")),
    )
    assert world.app.load_program(world.program_id).settings.priority_limit == 4
