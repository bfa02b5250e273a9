"""Phase Zero on every store: entering, groups and their refusals, the admission run with grade
caps, commit, discard, replay, manual admission, undo, and the class-registration gate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.program import Program
from tests.application.conftest import GRADE_10, World, admin, as_student, build_world

GRADE_9 = GRADE_10 + 1
CAPS = {"7-9": 100, "10-12": 100}


def code_of(call: Any) -> str:
    with pytest.raises(RegistrationError) as refused:
        call()
    return refused.value.code


@pytest.fixture
def pw(app: Registration) -> World:
    """Phase Zero on, groups of up to 3; one class (math1, 10 seats); 10th graders a..h, 9th graders n1..n4."""
    w = build_world(app, settings={"phase_zero": True, "admission_group_size": 3})
    w.subject("math", "Math")
    w.section("math1", "math", [0])
    for key in w.known_students():
        w.profile(key)
    for key in ("n1", "n2", "n3", "n4"):
        w.profile(key, GRADE_9)
    return w


def enter(w: World, key: str) -> Any:
    return w.app.enter_admission(w.program_id, key, as_student(key))


def join(w: World, key: str, target: str, ctx: Any = None) -> Any:
    return w.app.join_admission_group(w.program_id, key, target, ctx or as_student(key))


def leave(w: World, key: str) -> Any:
    return w.app.leave_admission_group(w.program_id, key, as_student(key))


def group(w: World, key: str) -> tuple[str | None, tuple[str, ...]]:
    view = w.app.show_admission_ticket(w.program_id, key)
    return view.group_holder, view.members


def start(w: World, caps: dict[str, int] | None = None, seed: int = 7, **kwargs: Any) -> UUID:
    result = w.app.start_admission(w.program_id, caps or CAPS, admin(**kwargs), seed=seed)
    return UUID(result.ids["run_id"])


def admitted(w: World) -> set[str]:
    program = w.app.load_program(w.program_id)
    keys = [*w.known_students(), "n1", "n2", "n3", "n4"]
    return {k for k in keys if w.student_id(k) in program.admitted}


# -- tickets and groups -------------------------------------------------------------------------


def test_entering_and_joining_form_a_group_and_leaving_returns_a_ticket(pw: World) -> None:
    enter(pw, "alice")
    join(pw, "bob", "alice")
    enter(pw, "carol")
    join(pw, "carol", "bob")  # bob's group is alice's
    assert group(pw, "carol") == ("alice", ("alice", "bob", "carol"))
    leave(pw, "bob")
    assert group(pw, "alice") == ("alice", ("alice", "carol"))
    assert group(pw, "bob") == ("bob", ("bob",))


@pytest.mark.parametrize(
    ("setup", "key", "target", "code"),
    [
        ((), "alice", "nobody", "admission_target_unknown"),
        ((), "alice", "bob", "admission_target_not_entered"),
        (("alice",), "alice", "alice", "admission_join_self"),
        (("alice", "bob", "carol:bob"), "carol", "alice", "admission_already_in_group"),
        (("alice", "bob:alice"), "bob", "alice", "admission_already_in_group"),
        (("alice", "bob", "carol:bob"), "bob", "alice", "admission_holding_group"),
        (("alice", "bob:alice", "carol:alice"), "dave", "alice", "admission_group_full"),
    ],
)
def test_joining_refusals(pw: World, setup: tuple[str, ...], key: str, target: str, code: str) -> None:
    for step in setup:
        who, _, whom = step.partition(":")
        join(pw, who, whom) if whom else enter(pw, who)
    before = pw.position()
    assert code_of(lambda: join(pw, key, target)) == code
    assert pw.position() == before


def test_entering_leaving_and_window_refusals(pw: World) -> None:
    enter(pw, "alice")
    assert code_of(lambda: enter(pw, "alice")) == "admission_already_entered"
    assert code_of(lambda: leave(pw, "alice")) == "admission_not_in_group"
    assert code_of(lambda: leave(pw, "bob")) == "admission_not_entered"
    join(pw, "bob", "alice")
    assert code_of(lambda: leave(pw, "alice")) == "admission_holding_group"
    assert code_of(lambda: enter(pw, "nobody")) == "profile_required"
    pw.app.set_window(pw.program_id, "admission", None, pw.clock.now - timedelta(days=1), admin())
    assert code_of(lambda: enter(pw, "carol")) == "window_closed"
    assert code_of(lambda: join(pw, "carol", "alice")) == "window_closed"
    pw.app.enter_admission(pw.program_id, "carol", admin(override=True, reason="late form"))
    assert group(pw, "carol") == ("carol", ("carol",))


def test_a_program_without_phase_zero_has_no_admission_lottery(world: World) -> None:
    assert code_of(lambda: enter(world, "alice")) == "phase_zero_off"
    assert code_of(lambda: world.app.start_admission(world.program_id, CAPS, admin())) == "phase_zero_off"


def test_a_repeated_join_answers_the_first_time(pw: World) -> None:
    enter(pw, "alice")
    ctx = as_student("bob", command_id="join-1")
    first = join(pw, "bob", "alice", ctx)
    again = join(pw, "bob", "alice", ctx)
    assert again.replayed
    assert again.ids == first.ids


# -- runs ---------------------------------------------------------------------------------------


def groups_of_three_and_nines(w: World) -> None:
    """Groups: {alice, bob, carol}, {dave, erin}, {frank}, {grace, n1}, {n2}; heidi, n3, n4 stay out."""
    enter(w, "alice")
    join(w, "bob", "alice")
    join(w, "carol", "alice")
    enter(w, "dave")
    join(w, "erin", "dave")
    enter(w, "frank")
    enter(w, "grace")
    join(w, "n1", "grace")
    enter(w, "n2")


def test_a_run_admits_whole_groups_within_the_caps(pw: World) -> None:
    groups_of_three_and_nines(pw)
    caps = {"7-9": 1, "10-12": 4}
    for seed in range(6):
        run_id = start(pw, caps, seed=seed)
        stats = pw.app.admission_stats(run_id)
        winners = set(pw.app.admission_result(run_id).admitted)
        tens = winners - {"n1", "n2"}
        assert len(tens) <= 4
        assert len(winners & {"n1", "n2"}) <= 1
        for members in ({"alice", "bob", "carol"}, {"dave", "erin"}, {"grace", "n1"}):
            assert members <= winners or not members & winners
        assert stats["winners"] == len(winners)
        assert stats["entrants"] == 9
        pw.app.discard_admission(run_id, admin())
    assert admitted(pw) == set()


def test_commit_records_admission_on_program_once(pw: World) -> None:
    groups_of_three_and_nines(pw)
    run_id = start(pw)
    ctx = admin(command_id="commit-1")
    result = pw.app.commit_admission(run_id, ctx)
    assert admitted(pw) == {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "n1", "n2"}
    position = pw.position()
    assert pw.app.commit_admission(run_id, ctx).replayed
    assert code_of(lambda: pw.app.commit_admission(run_id, admin())) == "lottery_already_committed"
    assert pw.position() == position
    assert result.ids["admitted"] == "9"
    assert code_of(lambda: pw.app.discard_admission(run_id, admin())) == "lottery_already_committed"


def test_undoing_a_committed_run_undoes_its_admissions_only(pw: World) -> None:
    groups_of_three_and_nines(pw)
    run_id = start(pw, {"7-9": 1, "10-12": 3})
    assert code_of(lambda: pw.app.undo_admissions(pw.program_id, [], admin(), run_id=run_id)) == "invalid_input"
    pw.app.commit_admission(run_id, admin())
    won = admitted(pw)
    assert won
    enter(pw, "heidi")
    pw.app.admit_students(pw.program_id, ["heidi"], admin())
    result = pw.app.undo_admissions(pw.program_id, [], admin(reason="redo the lottery"), run_id=run_id)
    assert result.ids["undone"] == str(len(won))
    assert admitted(pw) == {"heidi"}


def test_a_discarded_run_cannot_be_committed_and_admits_nobody(pw: World) -> None:
    groups_of_three_and_nines(pw)
    run_id = start(pw)
    pw.app.discard_admission(run_id, admin())
    assert code_of(lambda: pw.app.commit_admission(run_id, admin())) == "lottery_discarded"
    assert admitted(pw) == set()


def test_a_commit_after_a_winning_group_changed_is_refused(pw: World) -> None:
    groups_of_three_and_nines(pw)
    run_id = start(pw)
    leave(pw, "bob")
    assert code_of(lambda: pw.app.commit_admission(run_id, admin())) == "admission_stale"
    assert admitted(pw) == set()


def test_replay_is_identical_and_the_run_is_not_a_main_lottery_run(pw: World) -> None:
    groups_of_three_and_nines(pw)
    run_id = start(pw, {"7-9": 1, "10-12": 3}, seed=11)
    first = pw.app.admission_result(run_id)
    join(pw, "heidi", "frank")  # later entries do not change the run
    report = pw.app.replay_admission(run_id)
    assert report.identical
    pw.app.__dict__.pop("_admissions", None)
    assert pw.app.admission_result(run_id) == first
    assert code_of(lambda: pw.app.commit_lottery(run_id, admin())) == "not_a_lottery_run"


def test_stats_give_real_acceptance_ratios_per_grade(pw: World) -> None:
    groups_of_three_and_nines(pw)
    run_id = start(pw, {"7-9": 1, "10-12": 100})
    stats = pw.app.admission_stats(run_id)
    nines = next(g for g in stats["grades"] if g["grade"] == 9)
    assert nines["entrants"] == 2
    assert nines["winners"] == 1
    assert nines["acceptance_rate"] == 0.5
    assert [b["cap"] for b in stats["buckets"]] == [1, 100]


def test_a_run_reads_grades_from_profiles_as_of_its_position(pw: World) -> None:
    enter(pw, "alice")
    enter(pw, "bob")
    pw.profile("bob", GRADE_9)  # bob entered as a 10th grader; his profile now says 9th
    run_id = start(pw, {"7-9": 0, "10-12": 5})
    assert pw.app.admission_result(run_id).admitted == ("alice",)
    pw.profile("bob", GRADE_10)  # after the run's position: the run does not see it
    assert pw.app.replay_admission(run_id).identical


def test_uncovered_grades_and_bad_caps_are_refused(pw: World) -> None:
    groups_of_three_and_nines(pw)
    assert code_of(lambda: start(pw, {"10-12": 5})) == "admission_grade_uncovered"
    assert code_of(lambda: start(pw, {"7-10": 5, "10-12": 5})) == "invalid_input"
    assert code_of(lambda: start(pw, {"7-12": -1})) == "invalid_input"


def test_a_second_run_counts_earlier_admissions_against_the_caps(pw: World) -> None:
    groups_of_three_and_nines(pw)
    pw.app.admit_students(pw.program_id, ["n2"], admin())
    run_id = start(pw, {"7-9": 1, "10-12": 100})
    assert not {"n1", "grace"} & set(pw.app.admission_result(run_id).admitted)


# -- manual admission, undo, the gate --------------------------------------------------------------


def test_manual_admission_with_groups_and_undo_as_an_event(pw: World) -> None:
    groups_of_three_and_nines(pw)
    assert code_of(lambda: pw.app.admit_students(pw.program_id, ["heidi"], admin())) == ("admission_target_not_entered")
    pw.app.admit_students(pw.program_id, ["bob"], admin(), groups=True)
    assert admitted(pw) == {"alice", "bob", "carol"}
    pw.app.undo_admissions(pw.program_id, ["bob"], admin(reason="wrong list"))
    assert admitted(pw) == {"alice", "carol"}
    events = list(pw.app.repository.event_store.get(pw.program_id))
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("StudentsAdmitted") == 1
    assert kinds[-1] == "AdmissionsUndone"
    assert isinstance(pw.app.repository.get(pw.program_id), Program)


def test_only_admitted_students_register_for_classes(pw: World) -> None:
    groups_of_three_and_nines(pw)
    assert code_of(lambda: pw.add("alice", "math1")) == "not_admitted"
    assert code_of(lambda: pw.rank("alice", 0, {1: "math"})) == "not_admitted"
    assert code_of(lambda: pw.star("alice", "math")) == "not_admitted"
    pw.app.admit_students(pw.program_id, ["alice"], admin())
    pw.add("alice", "math1")
    pw.add("bob", "math1", admin(override=True, reason="teacher's child"))
    pw.section("math2", "math", [1])
    pw.app.undo_admissions(pw.program_id, ["alice"], admin())
    assert code_of(lambda: pw.switch("alice", "math1", "math2")) == "not_admitted"
    assert code_of(lambda: pw.add("alice", "math2", replace=True)) == "not_admitted"
    pw.drop("alice", "math1")  # dropping is never gated
    assert code_of(lambda: pw.add("alice", "math1")) == "not_admitted"


def test_the_program_cap_treats_admitted_students_as_admitted(app: Registration) -> None:
    w = build_world(app, settings={"phase_zero": True, "program_size_max": 1})
    w.subject("math", "Math")
    w.section("math1", "math", [0])
    for key in ("alice", "bob"):
        w.profile(key)
        enter(w, key)
    w.app.admit_students(w.program_id, ["alice", "bob"], admin())
    w.add("alice", "math1")
    w.add("bob", "math1")  # over the cap of 1, but admitted
    assert w.enrolled_keys("math1") == {"alice", "bob"}


def test_waitlists_and_class_change_requests_are_gated_too(app: Registration) -> None:
    w = build_world(app, settings={"phase_zero": True, "waitlist_enabled": True})
    w.subject("art", "Art", class_size_max=1)
    w.section("art1", "art", [0])
    for key in ("alice", "bob"):
        w.profile(key)
        enter(w, key)
    w.app.admit_students(w.program_id, ["alice"], admin())
    w.add("alice", "art1")
    assert code_of(lambda: w.waitlist("bob", "art1")) == "not_admitted"
    requests = {w.sections["art1"]: 1}
    assert code_of(lambda: w.app.request_changes(w.program_id, "bob", requests, as_student("bob"))) == "not_admitted"
    w.app.admit_students(w.program_id, ["bob"], admin())
    w.waitlist("bob", "art1")
    assert w.get_section("art1").waitlist == [w.student_id("bob")]


def test_other_runs_are_not_admission_runs(pw: World) -> None:
    other = pw.app.start_lottery(pw.program_id, admin(), seed=1)
    run_id = UUID(other.ids["run_id"])
    before = pw.position()
    assert code_of(lambda: pw.app.admission_stats(run_id)) == "not_an_admission_run"
    assert code_of(lambda: pw.app.commit_admission(run_id, admin())) == "not_an_admission_run"
    assert code_of(lambda: pw.app.discard_admission(run_id, admin())) == "not_an_admission_run"
    assert pw.position() == before
