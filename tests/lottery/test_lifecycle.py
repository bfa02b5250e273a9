"""Lottery runs end to end on every store: start, retrieve, replay, what-if, discard, commit."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program, to_lottery_input
from regledger.domain.application import Registration
from regledger.domain.errors import IdempotencyKeyReused, RegistrationError
from regledger.domain.ids import ProgramId, SectionId, TimeslotId, student_id
from regledger.domain.lottery.algorithm import compute_assignment
from regledger.domain.lottery.model import LotteryInput, LotteryParameters
from regledger.domain.lottery_run import LotteryRun
from regledger.domain.section import Section
from regledger.domain.student import Student
from regledger.domain.values import ENROLLED, CommandContext

SMALL = {"students": 40, "sections": 24, "classes": 18, "timeslots": 4, "days": 1}


def admin(command_id: str | None = None) -> CommandContext:
    return CommandContext(actor="admin", **({"command_id": command_id} if command_id else {}))


def code_of(call: Any) -> str:
    with pytest.raises(RegistrationError) as refused:
        call()
    return refused.value.code


class Stored:
    """A synthetic program written to the store; `sections` maps (code, index) to stored ids."""

    def __init__(self, app: Registration, seed: int = 7, **sizes: int) -> None:
        self.program = generate_program(seed, **(sizes or SMALL))
        result = store_synthetic_program(app, self.program, admin())
        self.program_id = result.program_id
        self.sections = result.section_ids
        self.students = self.program.students

    def section_id(self, code: str, index: int) -> SectionId:
        return self.sections[(code, index)]

    def expected_input(self) -> LotteryInput:
        """The generator's own input, renamed to the stored section ids."""
        inp = to_lottery_input(self.program)
        rename = {self.program.section_id(c, i): sid for (c, i), sid in self.sections.items()}
        sections = tuple(replace(s, id=rename[s.id]) for s in inp.sections)
        students = tuple(
            replace(
                s,
                priorities=tuple(frozenset(rename[x] for x in level) for level in s.priorities),
                interested=frozenset(rename[x] for x in s.interested),
            )
            for s in inp.students
        )
        return replace(inp, sections=sections, students=students)


@pytest.fixture
def app(app_settings: Settings, make_app: Any) -> Registration:
    registration: Registration = make_app(app_settings, Registration)
    return registration


def run_of(app: Registration, program_id: ProgramId, seed: int = 1, **kwargs: Any) -> LotteryRun:
    result = app.start_lottery(program_id, admin(), seed=seed, **kwargs)
    return app.load_run(UUID(result.ids["run_id"]))


def lottery_events(app: Registration, run_id: UUID) -> list[Any]:
    """Every stored Section.StudentEnrolled / Student.SectionRegistered carrying this run id."""
    topics = [get_topic(Section.StudentEnrolled), get_topic(Student.SectionRegistered)]
    found, start = [], 1
    while True:
        page = app.recorder.select_notifications(start, 1000, topics=topics)
        found += [e for e in map(app.mapper.to_domain_event, page) if getattr(e, "lottery_run_id", None) == run_id]
        if len(page) < 1000:
            return found
        start = page[-1].id + 1


def seats(app: Registration, world: Stored) -> set[tuple[UUID, UUID]]:
    held = set()
    for section_id in world.sections.values():
        section = app.load_section(section_id)
        held |= {(student, section.id) for student in section.enrolled}
    return held


# -- the input ---------------------------------------------------------------------------


def test_the_input_folded_from_the_log_is_the_generators_input(app):
    w = Stored(app)
    program_id = w.program_id
    folded = app.lottery_input(program_id, app.position())
    expected = w.expected_input()
    assert {s.id: s for s in folded.sections} == {s.id: s for s in expected.sections}
    assert {s.id: s for s in folded.students} == {s.id: s for s in expected.students}
    assert folded.priority_limit == expected.priority_limit
    assert [t.id for t in folded.timeslots] == [t.id for t in sorted(expected.timeslots, key=lambda t: t.start)]


def test_the_input_leaves_out_closed_sections_and_counts_the_priorities_on_them(app):
    w = Stored(app)
    program, program_id = w.program, w.program_id
    ranked = Counter(
        (code, label) for st in program.students for label, codes in st.priorities.items() for code in codes
    )
    (code, label), count = ranked.most_common(1)[0]
    section_id = next(
        w.section_id(s.class_code, s.index)
        for s in program.sections
        if s.class_code == code and s.timeslot_labels[0] == label
    )
    before = app.position()
    app.set_section_open(section_id, False, admin())
    snapshot = app.lottery_snapshot(program_id, app.position())
    assert section_id not in {s.id for s in snapshot.input.sections}
    assert snapshot.ignored_priorities == count
    assert not any(section_id in level for s in snapshot.input.students for level in s.priorities)
    # As of the earlier position the section is still in.
    assert section_id in {s.id for s in app.lottery_input(program_id, before).sections}


def _restar(app: Registration, w: Stored, count: int, offset: int = 0) -> None:
    """`count` preference changes in the program (star or unstar a class)."""
    program, program_id = w.program, w.program_id
    ctx = CommandContext(actor="admin", override=True, reason="cache test")
    for n in range(offset, offset + count):
        key = program.students[n % len(program.students)].key
        subject = program.class_id(program.classes[n % 7].code)
        if subject in app.get_student(program_id, key).stars:
            app.unstar(program_id, key, subject, ctx)
        else:
            app.star(program_id, key, subject, ctx)


def test_the_cached_fold_moved_forward_equals_a_fold_from_zero(app):
    w = Stored(app)
    program_id = w.program_id
    first = app.position()
    assert (
        app.lottery_input(program_id, first).digest()
        == app.lottery_snapshot_from_zero(program_id, first).input.digest()
    )
    _restar(app, w, 12)
    later = app.position()
    warm = app.lottery_snapshot(program_id, later)  # continues from `first`
    cold = app.lottery_snapshot_from_zero(program_id, later)
    assert warm == cold
    assert (
        warm.input.digest() == cold.input.digest() != app.lottery_snapshot_from_zero(program_id, first).input.digest()
    )
    # An older position than the cache's is folded from zero, and leaves the cache where it was.
    older = app.lottery_snapshot(program_id, first)
    assert older == app.lottery_snapshot_from_zero(program_id, first)
    _restar(app, w, 5, offset=12)
    now = app.position()
    assert app.lottery_snapshot(program_id, now) == app.lottery_snapshot_from_zero(program_id, now)


def test_a_position_beyond_the_log_does_not_hide_later_events_from_the_cache(app):
    w = Stored(app)
    program_id = w.program_id
    ahead = app.position() + 1000
    app.lottery_snapshot(program_id, ahead)
    _restar(app, w, 3)
    now = app.position()
    assert app.lottery_snapshot(program_id, now) == app.lottery_snapshot_from_zero(program_id, now)


def test_runs_started_on_a_warm_cache_replay_identically_from_zero(app):
    w = Stored(app)
    program_id = w.program_id
    first = run_of(app, program_id, seed=3)
    _restar(app, w, 6)
    second = run_of(app, program_id, seed=3)  # warm: folded only the six new events
    third = run_of(app, program_id, seed=4)  # warm, nothing new for the program: reuses the input
    assert third.input_digest == second.input_digest != first.input_digest
    app.lottery_inputs._folds.clear()  # as in a new process: every replay folds from zero
    for run in (first, second, third):
        report = app.replay_lottery(run.id)
        assert report.identical
        assert report.replayed_input_digest == run.input_digest


# -- start, retrieve, replay -------------------------------------------------------------


def test_start_records_a_computed_run_with_its_inputs_seed_and_stats(app):
    program_id = Stored(app).program_id
    position = app.position()
    result = app.start_lottery(program_id, admin(), parameters={"kp": 1.3}, seed=42)
    run = app.load_run(UUID(result.ids["run_id"]))
    assert result.outcome == "Computed"
    assert (run.status, run.seed, run.input_position, run.parameters["kp"]) == ("computed", 42, position, 1.3)
    assert run.input_digest == app.lottery_input(program_id, position).digest()
    assert run.assignments > 0
    assert run.stats["num_registrations"] == run.assignments
    assert app.lottery_stats(run.id).levels[0].requested > 0
    # Started and Computed, both stored, at consecutive positions (one save).
    recorded = app.recorder.select_events(run.id)
    assert [r.topic.rsplit(".", 1)[-1] for r in recorded] == ["Started", "Computed"]


def test_a_seed_is_drawn_and_recorded_when_none_is_given(app):
    program_id = Stored(app).program_id
    first = app.load_run(UUID(app.start_lottery(program_id, admin()).ids["run_id"]))
    second = app.load_run(UUID(app.start_lottery(program_id, admin()).ids["run_id"]))
    assert first.seed != second.seed
    assert app.replay_lottery(first.id).identical


def test_a_retried_start_returns_the_first_run(app):
    program_id = Stored(app).program_id
    first = app.start_lottery(program_id, admin("start-1"), seed=1)
    again = app.start_lottery(program_id, admin("start-1"), seed=1)
    assert again.replayed
    assert again.ids["run_id"] == first.ids["run_id"]
    assert app.load_run(UUID(first.ids["run_id"])).seed == 1


def test_a_start_with_a_used_command_id_and_other_parameters_is_refused(app):
    program_id = Stored(app).program_id
    app.start_lottery(program_id, admin("start-1"), seed=1)
    position = app.position()
    with pytest.raises(IdempotencyKeyReused):
        app.start_lottery(program_id, admin("start-1"), seed=2)
    assert app.position() == position


def test_the_assignment_is_retrievable_and_equals_a_fresh_computation(app):
    program_id = Stored(app).program_id
    run = run_of(app, program_id, seed=5)
    assignment = app.lottery_assignment(run.id)
    inp = app.lottery_input(program_id, run.input_position)
    assert assignment == compute_assignment(inp, LotteryParameters.from_dict(run.parameters), 5)
    assert assignment.digest() == run.assignment_digest
    assert len(assignment.assignments) == run.assignments
    assert app.what_if(program_id, run.parameters, 5, position=run.input_position).result == assignment


def test_replay_is_identical_after_fifty_more_events(app):
    w = Stored(app)
    program, program_id = w.program, w.program_id
    run = run_of(app, program_id, seed=9)
    before = app.position()
    # 50 later events: new preferences in this program, and another program altogether.
    for n in range(25):
        key = program.students[n].key
        subject = program.class_id(program.classes[n % 5].code)
        ctx = CommandContext(actor="admin", override=True, reason="replay test")
        if subject in app.get_student(program_id, key).stars:
            app.unstar(program_id, key, subject, ctx)
        else:
            app.star(program_id, key, subject, ctx)
    other = ProgramId(UUID(app.create_program("other", "Other", admin(), school_year=2027).ids["program_id"]))
    start = datetime(2027, 3, 1, 9, tzinfo=UTC)
    for n in range(24):
        app.add_timeslot(other, f"t{n}", start + timedelta(hours=n), start + timedelta(hours=n, minutes=50), admin())
    assert app.position() - before >= 50
    assert app.lottery_input(program_id, app.position()).digest() != run.input_digest  # the present did change
    report = app.replay_lottery(run.id)
    assert report.identical
    assert report.replayed_digest == report.recorded_digest == run.assignment_digest
    assert report.replayed_input_digest == run.input_digest


def test_different_seeds_give_different_assignments(app):
    program_id = Stored(app).program_id
    digests = {app.what_if(program_id, None, seed).result.digest() for seed in range(5)}
    assert len(digests) > 1


def test_what_if_writes_nothing_and_compare_shows_runs_side_by_side(app):
    program_id = Stored(app).program_id
    position = app.position()
    preview = app.what_if(program_id, {"ki": 1.5}, 3)
    assert app.position() == position
    assert preview.stats is not None
    assert preview.stats.num_registrations == len(preview.result.assignments)
    a, b = run_of(app, program_id, seed=1), run_of(app, program_id, seed=2)
    table = app.compare_runs([a.id, b.id])
    rows = dict(table.rows)
    assert table.run_ids == (a.id, b.id)
    assert rows["Seed"] == ("1", "2")
    assert rows["Registrations"] == (str(a.assignments), str(b.assignments))


# -- discard and commit ------------------------------------------------------------------


def test_every_assignment_becomes_exactly_one_enrolment_on_section_and_student(app):
    w = Stored(app)
    program_id = w.program_id
    run = run_of(app, program_id)
    assignment = app.lottery_assignment(run.id)
    result = app.commit_lottery(run.id, admin())
    assert result.outcome == "Committed"
    events = lottery_events(app, run.id)
    enrolled = Counter((e.student_id, e.originator_id) for e in events if isinstance(e, Section.StudentEnrolled))
    registered = Counter(
        (e.originator_id, e.section.section_id) for e in events if isinstance(e, Student.SectionRegistered)
    )
    expected = Counter((a.student_id, a.section_id) for a in assignment.assignments)
    assert enrolled == expected == registered
    assert all(e.cause == "lottery" for e in events)
    assert all(e.verb == ENROLLED for e in events if isinstance(e, Student.SectionRegistered))
    assert seats(app, w) == set(expected)
    assert app.load_run(run.id).status == "committed"
    assert app.load_program(program_id).committed_lottery_run_id == run.id


def test_the_commit_records_who_chose_classes_and_got_no_seat(app):
    """Those students are told (`lottery_unplaced`); one without preferences is not named."""
    w = Stored(app)
    for section_id in w.sections.values():  # scarce seats: some students get none
        app.change_capacity(section_id, admin(), max_class_capacity=1)
    app.submit_profile(w.program_id, "idle", "Idle", 2029, {}, admin())  # no stars, no priorities
    run = run_of(app, w.program_id)
    result = app.commit_lottery(run.id, admin())
    seated = {student for student, _ in seats(app, w)}
    chose = {student_id(w.program_id, s.key) for s in w.students if s.stars or any(s.priorities.values())}
    [recorded] = [e for e in app.events.get(run.id) if isinstance(e, LotteryRun.StudentsUnplaced)]
    assert set(recorded.student_ids) == chose - seated
    assert recorded.student_ids  # the scarce seats left some out
    assert student_id(w.program_id, "idle") not in recorded.student_ids
    assert recorded.program_id == w.program_id
    assert result.ids["unplaced"] == str(len(recorded.student_ids)) == str(app.load_run(run.id).unplaced)


def test_a_second_commit_of_this_or_another_run_is_refused(app):
    program_id = Stored(app).program_id
    first, second = run_of(app, program_id, seed=1), run_of(app, program_id, seed=2)
    app.commit_lottery(first.id, admin())
    position = app.position()
    assert code_of(lambda: app.commit_lottery(first.id, admin())) == "lottery_already_committed"
    assert code_of(lambda: app.commit_lottery(second.id, admin())) == "lottery_already_committed"
    assert code_of(lambda: app.discard_lottery(first.id, admin())) == "lottery_already_committed"
    assert app.position() == position


def test_a_repeated_commit_command_id_is_answered_without_writing(app):
    program_id = Stored(app).program_id
    run = run_of(app, program_id)
    app.commit_lottery(run.id, admin("commit-1"))
    position = app.position()
    again = app.commit_lottery(run.id, admin("commit-1"))
    assert again.replayed
    assert again.outcome == "Committed"
    assert app.position() == position


def test_reusing_the_start_command_id_for_the_commit_still_commits(app):
    program_id = Stored(app).program_id
    ctx = admin("same-id")
    run = app.load_run(UUID(app.start_lottery(program_id, ctx, seed=1).ids["run_id"]))
    result = app.commit_lottery(run.id, ctx)
    assert not result.replayed
    assert app.load_run(run.id).status == "committed"
    assert len(lottery_events(app, run.id)) == 2 * run.assignments


def test_a_discarded_run_cannot_be_committed(app):
    program_id = Stored(app).program_id
    run = run_of(app, program_id)
    app.discard_lottery(run.id, admin())
    assert app.load_run(run.id).status == "discarded"
    position = app.position()
    assert code_of(lambda: app.commit_lottery(run.id, admin())) == "lottery_discarded"
    assert code_of(lambda: app.commit_lottery(run.id, admin(), replace=True)) == "lottery_discarded"
    assert code_of(lambda: app.discard_lottery(run.id, admin())) == "lottery_discarded"
    assert app.position() == position
    assert lottery_events(app, run.id) == []


def test_fcfs_enrolments_refuse_a_commit_unless_replace_ends_them(app):
    w = Stored(app)
    program, program_id = w.program, w.program_id
    run = run_of(app, program_id)
    key = program.students[0].key
    section_id = w.section_id(program.students[0].stars[0], 0)  # a starred class fits the grade
    app.add_section(program_id, key, section_id, CommandContext(actor=key))
    position = app.position()
    assert code_of(lambda: app.commit_lottery(run.id, admin())) == "enrollments_exist"
    assert app.position() == position
    app.commit_lottery(run.id, admin(), replace=True)
    student = app.get_student(program_id, key)
    stored_events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(student.id)]
    ends = [e for e in stored_events if isinstance(e, Student.RegistrationEnded) and e.section_id == section_id]
    assert [(e.verb, e.cause) for e in ends] == [(ENROLLED, "lottery_replaced")]
    section_events = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(section_id)]
    assert [e.cause for e in section_events if isinstance(e, Section.StudentUnenrolled)] == ["lottery_replaced"]
    assigned = {(a.student_id, a.section_id) for a in app.lottery_assignment(run.id).assignments}
    assert seats(app, w) == assigned


def test_replace_ends_the_previous_runs_enrolments_with_events(app):
    w = Stored(app)
    program_id = w.program_id
    first, second = run_of(app, program_id, seed=1), run_of(app, program_id, seed=2)
    app.commit_lottery(first.id, admin())
    old = {(a.student_id, a.section_id) for a in app.lottery_assignment(first.id).assignments}
    new = {(a.student_id, a.section_id) for a in app.lottery_assignment(second.id).assignments}
    assert old != new
    result = app.commit_lottery(second.id, admin(), replace=True)
    assert result.ids["replaced_run_id"] == str(first.id)
    assert int(result.ids["ended"]) == len(old)
    assert app.load_run(second.id).replaced_run_id == first.id
    assert app.load_program(program_id).committed_lottery_run_id == second.id
    assert seats(app, w) == new
    ended = Counter()
    for sid in w.sections.values():
        for e in map(app.mapper.to_domain_event, app.recorder.select_events(sid)):
            if isinstance(e, Section.StudentUnenrolled):
                ended[(e.student_id, sid, e.cause)] += 1
    assert ended == Counter({(student, section, "lottery_replaced"): 1 for student, section in old})


def test_a_seat_taken_away_since_the_run_refuses_the_whole_commit(app):
    w = Stored(app)
    program_id = w.program_id
    run = run_of(app, program_id)
    busiest = Counter(a.section_id for a in app.lottery_assignment(run.id).assignments).most_common(1)[0][0]
    app.change_capacity(SectionId(busiest), admin(), max_class_capacity=0)
    position = app.position()
    with pytest.raises(RegistrationError) as refused:
        app.commit_lottery(run.id, admin())
    assert refused.value.code == "lottery_seat_unavailable"
    assert refused.value.detail["because"] == "section_full"
    assert app.position() == position
    assert lottery_events(app, run.id) == []
    assert seats(app, w) == set()


def test_preferences_are_refused_after_the_lottery_window_closes(app):
    w = Stored(app)
    program, program_id = w.program, w.program_id
    key = program.students[0].key
    now = datetime.now(tz=UTC)
    app.set_window(program_id, "lottery", now - timedelta(days=2), now - timedelta(days=1), admin())
    subject = program.class_id(program.classes[0].code)
    timeslot = TimeslotId(program.timeslot_id(program.timeslots[0].label))
    position = app.position()
    student = CommandContext(actor=key)
    assert code_of(lambda: app.star(program_id, key, subject, student)) == "window_closed"
    assert code_of(lambda: app.unstar(program_id, key, subject, student)) == "window_closed"
    assert code_of(lambda: app.rank_priorities(program_id, key, timeslot, {1: None}, student)) == "window_closed"
    assert code_of(lambda: app.confirm_preferences(program_id, key, student)) == "window_closed"
    assert app.position() == position


# -- a crash in the middle of a commit (PostgreSQL) --------------------------------------

CHILD = textwrap.dedent(
    """
    import json, sys
    from uuid import UUID
    from regledger.adapters.postgres.recorders import LargeSavePostgresApplicationRecorder
    from regledger.domain.application import Registration
    from regledger.projections.lottery_input import LotteryInputFold
    from regledger.domain.values import CommandContext

    class Announcing(LargeSavePostgresApplicationRecorder):
        # Instrumentation only: say when the big save's transaction is open, so the parent can
        # kill it then (the save is tens of milliseconds: a kill timed from its start misses it).
        def _insert_events(self, curs, stored_events, **kwargs):
            if len(stored_events) > 1000:
                print("saving", flush=True)
            super()._insert_events(curs, stored_events, **kwargs)

    env, run_id = json.loads(sys.argv[1]), UUID(sys.argv[2])
    for key in ("APPLICATION_RECORDER_TOPIC", "REGISTRATION_APPLICATION_RECORDER_TOPIC"):
        env[key] = "__main__:Announcing"
    app = Registration(env=env, lottery_inputs=LotteryInputFold)
    app.commit_lottery(run_id, CommandContext(actor="admin", command_id="crash-commit"))
    print("committed", flush=True)
    """
)


@pytest.mark.postgres
@pytest.mark.slow
def test_a_sigkill_during_commit_leaves_all_or_none_of_the_runs_enrolments(make_app, make_postgres_settings):
    outcomes: list[str] = []
    killed_mid_save: list[bool] = []
    rng = random.Random()
    for round_ in range(3):
        settings = make_postgres_settings()
        app: Registration = make_app(settings, Registration)
        w = Stored(
            app, 100 + round_, students=700, sections=160, classes=130, timeslots=6, days=1, stars_per_timeslot=4
        )
        run = run_of(app, w.program_id)
        assert run.assignments >= 2000
        env = settings.eventsourcing_env(names=[Registration.name])
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, json.dumps(env), str(run.id)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ},
        )
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line == "saving", line
        # The first kill lands at once, inside the transaction; the others anywhere up to after it.
        time.sleep(rng.uniform(0.0, 0.25) if round_ else 0.0)
        child.kill()
        child.wait(timeout=30)
        rest = child.stdout.read()
        child.stdout.close()
        killed_mid_save.append(child.returncode == -9 and "committed" not in rest)
        events = lottery_events(app, run.id)
        assert len(events) in (0, 2 * run.assignments)
        status = app.load_run(run.id).status
        if events:
            outcomes.append("all")
            assert status == "committed"
            assert code_of(lambda a=app, r=run: a.commit_lottery(r.id, admin())) == "lottery_already_committed"
        else:
            outcomes.append("none")
            assert status == "computed"
            assert seats(app, w) == set()
            app.commit_lottery(run.id, admin())  # nothing half-done stands in the way
            assert len(lottery_events(app, run.id)) == 2 * run.assignments
    print("SIGKILL outcomes:", outcomes, "killed during the save:", killed_mid_save)
    assert any(killed_mid_save)  # at least one kill really landed while the commit was saving
