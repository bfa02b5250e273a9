"""Class-change requests and runs on every store: refusals, swaps, push-back, lunch, waitlists,
stale and idempotent commits (issue 12 part 4)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import SectionId
from regledger.domain.lottery.class_change import problems
from regledger.domain.values import ENROLLED, priority_level_of, registration_priority
from tests.application.conftest import World, admin, as_student, build_world


def code_of(call: Any) -> str:
    with pytest.raises(RegistrationError) as refused:
        call()
    return refused.value.code


def request(w: World, key: str, wanted: dict[str, int | None], ctx: Any = None) -> Any:
    sections = {w.sections[name]: level for name, level in wanted.items()}
    return w.app.request_changes(w.program_id, key, sections, ctx or as_student(key))


def start(w: World, seed: int = 1, command_id: str | None = None) -> UUID:
    ctx = admin(**({"command_id": command_id} if command_id else {}))
    return UUID(w.app.start_class_change(w.program_id, ctx, seed=seed).ids["run_id"])


def enrolled(w: World, key: str) -> set[str]:
    ids = {r.section_id for r in w.get_student(key).holding(ENROLLED)}
    return {name for name, sid in w.sections.items() if sid in ids}


def requests_of(w: World, key: str) -> dict[str, str]:
    names = {sid: name for name, sid in w.sections.items()}
    return {names[s]: v for (s, v) in w.get_student(key).registrations if v.startswith("Request")}


@pytest.fixture
def cw(app: Registration) -> World:
    """Slots 0-2. Slot 0: a1 (1 seat), b1 (2), c1 (5), x1 (1); slot 1: d1 (1); slot 2: e1 (3)."""
    w = build_world(app, settings={"waitlist_enabled": True})
    for code, size in (("a", 1), ("b", 2), ("c", 5), ("x", 1), ("d", 1), ("e", 3)):
        w.subject(code, code.upper(), class_size_max=size)
    for name, slot in (("a1", 0), ("b1", 0), ("c1", 0), ("x1", 0), ("d1", 1), ("e1", 2)):
        w.section(name, name[0], [slot])
    for key in ("alice", "bob", "carol", "dave", "erin", "frank"):
        w.profile(key)
    return w


# -- requests ------------------------------------------------------------------------------------


def test_requests_replace_the_whole_set_and_write_only_what_differs(cw: World) -> None:
    request(cw, "alice", {"b1": 1, "d1": None})
    assert requests_of(cw, "alice") == {"b1": "Request/1", "d1": "Request"}
    before = cw.get_student("alice").version
    request(cw, "alice", {"b1": 1, "e1": 2})
    assert requests_of(cw, "alice") == {"b1": "Request/1", "e1": "Request/2"}
    assert cw.get_student("alice").version - before == 2  # d1 withdrawn, e1 registered; b1 untouched
    request(cw, "alice", {})
    assert requests_of(cw, "alice") == {}


def test_request_verbs_are_not_priorities() -> None:
    assert priority_level_of("Request/1") is None
    assert registration_priority([("Request/1", [UUID(int=1)])], [UUID(int=1)]) == 1


@pytest.mark.parametrize(
    ("setup", "wanted", "code"),
    [
        ("window", {"b1": 1}, "window_closed"),
        ("enrolled_in_class", {"b1": 1}, "already_in_class"),
        ("cancelled", {"b1": 1}, "section_cancelled"),
        ("closed", {"b1": 1}, "registration_closed"),
        ("rejected", {"b1": 1}, "class_not_accepted"),
        ("none", {"b1": 4}, "priority_limit"),
        ("none", {"b1": 0}, "priority_limit"),
        ("none", {"b1": 1, "c1": 1}, "duplicate_request_priority"),
        ("lunch", {"l1": None}, "lunch_not_requestable"),
        ("unscheduled", {"u1": 1}, "not_scheduled"),
    ],
)
def test_a_bad_request_is_refused_with_its_code_and_writes_nothing(
    cw: World, setup: str, wanted: dict[str, int | None], code: str
) -> None:
    cw.add("alice", "a1")
    if setup == "window":
        cw.app.set_window(cw.program_id, "class_change", cw.clock.now + timedelta(days=1), None, admin())
    elif setup == "enrolled_in_class":
        cw.section("b2", "b", [1])
        cw.add("alice", "b2")
    elif setup == "cancelled":
        cw.app.cancel_section(cw.sections["b1"], admin())
    elif setup == "closed":
        cw.app.set_section_open(cw.sections["b1"], False, admin())
    elif setup == "rejected":
        cw.app.change_subject_status(cw.subjects["b"], "rejected", admin())
    elif setup == "lunch":
        cw.subject("lunch", "Lunch", is_lunch=True)
        cw.section("l1", "lunch", [1])
    elif setup == "unscheduled":
        cw.subject("u", "U")
        cw.section("u1", "u", [])
    before = cw.position()
    assert code_of(lambda: request(cw, "alice", wanted)) == code
    assert cw.position() == before


def test_too_many_requests_are_refused(cw: World) -> None:
    cw.subject("many", "Many", class_size_max=3)
    names = [cw.section(f"m{i}", "many", [i % 3]) for i in range(25)]
    wanted: dict[SectionId, int | None] = dict.fromkeys(names)
    assert code_of(lambda: cw.app.request_changes(cw.program_id, "alice", wanted, as_student("alice"))) == (
        "too_many_requests"
    )


def test_a_request_outside_the_grade_range_is_refused(cw: World) -> None:
    cw.subject("senior", "Senior", grade_min=12, grade_max=12)
    cw.section("s1", "senior", [0])
    assert code_of(lambda: request(cw, "alice", {"s1": 1})) == "grade_out_of_range"


# -- runs ------------------------------------------------------------------------------------------


def test_two_students_swap_sections(cw: World) -> None:
    cw.add("alice", "a1")
    cw.add("bob", "b1")
    cw.add("carol", "b1")
    request(cw, "alice", {"b1": 1})
    request(cw, "bob", {"a1": 1})
    run_id = start(cw)
    result = cw.app.class_change_assignment(run_id)
    assert len(result.moves) == 2
    stats = cw.app.class_change_stats(run_id)
    assert (stats["students_changed"], stats["seats_moved"], stats["students_with_requests"]) == (2, 2, 2)
    cw.app.commit_class_change(run_id, admin())
    assert enrolled(cw, "alice") == {"b1"}
    assert enrolled(cw, "bob") == {"a1"}
    assert enrolled(cw, "carol") == {"b1"}
    assert requests_of(cw, "alice") == {}
    assert requests_of(cw, "bob") == {}
    assert cw.enrolled_keys("b1") == {"alice", "carol"}
    assert cw.app.load_program(cw.program_id).committed_lottery_run_id is None


def test_a_student_who_lost_a_class_is_pushed_back_displacing_the_winner_with_most_slack(cw: World) -> None:
    cw.add("alice", "a1")  # a1 is full: no slack if alice is sent back
    cw.add("carol", "c1")  # c1 has 4 free seats: slack
    cw.add("bob", "b1")  # one of b1's two seats
    cw.add("dave", "x1")  # x1 is full and dave asks for nothing: bob cannot get it
    request(cw, "bob", {"x1": 1})
    request(cw, "alice", {"b1": 1})
    request(cw, "carol", {"b1": 1})
    run_id = start(cw)
    stats = cw.app.class_change_stats(run_id)
    assert stats["pushed_back"] == 1
    cw.app.commit_class_change(run_id, admin())
    assert enrolled(cw, "bob") == {"b1"}
    assert enrolled(cw, "alice") == {"b1"}
    assert enrolled(cw, "carol") == {"c1"}
    assert enrolled(cw, "dave") == {"x1"}


def test_nobody_is_moved_off_their_last_free_lunch_slot(app: Registration) -> None:
    w = build_world(app)
    w.subject("lunch", "Lunch", is_lunch=True, class_size_max=50)
    w.section("l1", "lunch", [1])
    w.section("l2", "lunch", [2])
    w.subject("m", "M", class_size_max=5)
    w.section("m1", "m", [1])
    w.subject("n", "N", class_size_max=5)
    w.section("n2", "n", [2])
    w.section("n1", "n", [1])
    w.profile("alice")
    w.add("alice", "m1")  # slot 2 is alice's last free lunch slot
    request(w, "alice", {"n2": 1})
    run_id = start(w)
    assert w.app.class_change_assignment(run_id).moves == ()
    request(w, "alice", {"n1": 1})  # a swap within slot 1 keeps slot 2 free
    run_id = start(w, seed=2)
    w.app.commit_class_change(run_id, admin())
    assert {w.sections["n1"]} == {r.section_id for r in w.get_student("alice").holding(ENROLLED)}


def test_a_waitlisted_section_gives_no_seat_to_requesters_and_its_freed_seat_goes_to_the_queue(cw: World) -> None:
    cw.add("dave", "x1")
    cw.waitlist("erin", "x1")
    request(cw, "dave", {"b1": 1})  # dave leaves x1 for b1
    request(cw, "alice", {"x1": 1})  # alice may not jump erin's queue
    run_id = start(cw)
    stats = cw.app.class_change_stats(run_id)
    assert stats["requests_unavailable"] == 1
    cw.app.commit_class_change(run_id, admin())
    assert enrolled(cw, "dave") == {"b1"}
    assert enrolled(cw, "alice") == set()
    assert cw.enrolled_keys("x1") == {"erin"}
    assert cw.get_section("x1").waitlist == []


def test_commit_refuses_when_a_mover_changed_since_the_run_and_writes_nothing(cw: World) -> None:
    cw.add("alice", "a1")
    request(cw, "alice", {"b1": 1})
    run_id = start(cw)
    cw.add("alice", "d1")
    before = cw.position()
    with pytest.raises(RegistrationError) as refused:
        cw.app.commit_class_change(run_id, admin())
    assert refused.value.code == "class_change_stale"
    assert refused.value.detail["students"] == ["alice"]
    assert cw.position() == before
    assert enrolled(cw, "alice") == {"a1", "d1"}


def test_commit_refuses_when_a_target_section_filled_since_the_run(cw: World) -> None:
    cw.add("alice", "a1")
    request(cw, "alice", {"x1": 1})
    run_id = start(cw)
    cw.add("dave", "x1")
    assert code_of(lambda: cw.app.commit_class_change(run_id, admin())) == "class_change_stale"
    assert enrolled(cw, "alice") == {"a1"}


def test_commit_is_idempotent_and_at_most_once(cw: World) -> None:
    cw.add("alice", "a1")
    request(cw, "alice", {"b1": 1})
    run_id = start(cw)
    cw.app.__dict__.pop("_class_changes", None)  # as in another process: recomputed and checked
    first = cw.app.commit_class_change(run_id, admin(command_id="commit-1"))
    again = cw.app.commit_class_change(run_id, admin(command_id="commit-1"))
    assert again.replayed
    assert first.outcome == again.outcome == "Committed"
    assert code_of(lambda: cw.app.commit_class_change(run_id, admin())) == "lottery_already_committed"
    assert cw.enrolled_keys("b1") == {"alice"}


def test_runs_of_one_kind_are_refused_by_the_other_kinds_commands(cw: World) -> None:
    cw.add("alice", "a1")
    request(cw, "alice", {"b1": 1})
    run_id = start(cw)
    assert code_of(lambda: cw.app.commit_lottery(run_id, admin())) == "not_a_lottery_run"
    assert code_of(lambda: cw.app.replay_lottery(run_id)) == "not_a_lottery_run"
    lottery = UUID(cw.app.start_lottery(cw.program_id, admin(), seed=1).ids["run_id"])
    assert code_of(lambda: cw.app.commit_class_change(lottery, admin())) == "not_a_class_change_run"
    cw.app.discard_lottery(run_id, admin())
    assert code_of(lambda: cw.app.commit_class_change(run_id, admin())) == "lottery_discarded"


def test_a_run_replays_identically_after_later_events_and_records_its_algorithm(cw: World) -> None:
    for key, section in (("alice", "a1"), ("bob", "b1"), ("carol", "c1")):
        cw.add(key, section)
    request(cw, "alice", {"b1": 1, "d1": None})
    request(cw, "bob", {"a1": 1})
    request(cw, "carol", {"a1": 2, "b1": 1})
    run_id = start(cw, seed=42)
    run = cw.app.load_class_change_run(run_id)
    assert run.parameters == {"kind": "class_change", "algorithm": "esp-class-change/1"}
    request(cw, "alice", {})
    cw.add("dave", "e1")
    cw.app.__dict__.pop("_class_changes", None)
    report = cw.app.replay_class_change(run_id)
    assert report.identical
    snapshot = cw.app.class_change_input(cw.program_id, run.input_position)
    assert problems(snapshot.input, cw.app.class_change_assignment(run_id)) == []


def test_main_lottery_input_ignores_requests(cw: World) -> None:
    request(cw, "alice", {"b1": 1})
    inp = cw.app.lottery_input(cw.program_id, cw.position())
    assert all(not any(level) for s in inp.students for level in s.priorities)


def test_only_students_with_requests_are_in_the_input(cw: World) -> None:
    cw.add("alice", "a1")
    cw.add("bob", "b1")
    request(cw, "bob", {"c1": None})
    snapshot = cw.app.class_change_input(cw.program_id, cw.position())
    assert [s.id for s in snapshot.input.students] == [cw.student_id("bob")]
    (bob,) = snapshot.input.students
    assert bob.requests == ((cw.sections["c1"], 0),)
    assert bob.enrolled == (SectionId(cw.sections["b1"]),)


def race(calls: dict[str, Any]) -> dict[str, str]:
    """Run the calls on threads started together; each one's outcome: "ok" or its refusal code."""
    barrier = threading.Barrier(len(calls))
    results: dict[str, str] = {}

    def attempt(name: str, call: Any) -> None:
        barrier.wait()
        try:
            call()
            results[name] = "ok"
        except RegistrationError as refusal:
            results[name] = refusal.code

    threads = [threading.Thread(target=attempt, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
def test_a_commit_racing_an_add_on_postgres_never_over_fills(postgres_settings: Any, make_app: Any) -> None:
    """Two apps on one schema: one commits a run that moves alice into x1 (one seat), the other
    adds dave to x1 at the same time. One of them wins; x1 never holds two."""
    first: Registration = make_app(postgres_settings, Registration)
    second: Registration = make_app(postgres_settings, Registration)
    outcomes: list[tuple[str, str]] = []
    for attempt in range(4):
        w = build_world(first, slug=f"race{attempt}", settings={"waitlist_enabled": True})
        w.subject("a", "A", class_size_max=1)
        w.subject("x", "X", class_size_max=1)
        w.section("a1", "a", [0])
        w.section("x1", "x", [0])
        for key in ("alice", "dave"):
            w.profile(key)
        w.add("alice", "a1")
        request(w, "alice", {"x1": 1})
        run_id = start(w)
        second.clock = w.clock
        results = race(
            {
                "commit": lambda run=run_id: first.commit_class_change(run, admin()),
                "add": lambda world=w: second.add_section(
                    world.program_id, "dave", world.sections["x1"], as_student("dave")
                ),
            }
        )
        x1 = second.load_section(w.sections["x1"])
        assert len(x1.enrolled) == 1, results
        assert sorted(results.values()).count("ok") == 1, results
        outcomes.append((results["commit"], results["add"]))
    assert {o for pair in outcomes for o in pair} <= {"ok", "class_change_stale", "section_full"}
