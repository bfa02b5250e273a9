"""Phase Zero through the real commands on random entrant sets (memory store): random enters,
joins and leaves, then a run under random caps, committed. No grade bucket ends over its cap,
no group is split, the same seed gives the same winners, and the run recomputed from the log
replays identically."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regledger.adapters.bootstrap import build_application
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from regledger.domain.lottery.admission import bucket_of, parse_caps
from tests.application.conftest import SCHOOL_YEAR, admin, as_student, build_world

KEYS = [f"k{i}" for i in range(12)]
CAP_SETS = [{"7-9": 2, "10-12": 3}, {"7-12": 5}, {"7-8": 1, "9-10": 2, "11-12": 1}, {"7-12": 0}]

operations = st.lists(
    st.tuples(st.sampled_from(["enter", "join", "leave"]), st.sampled_from(KEYS), st.sampled_from(KEYS)),
    max_size=30,
)


def new_app(config: Settings) -> Registration:
    app: Registration = build_application(config)
    return app


def apply(app: Registration, pid: Any, op: tuple[str, str, str]) -> None:
    kind, key, target = op
    try:
        if kind == "enter":
            app.enter_admission(pid, key, as_student(key))
        elif kind == "join":
            app.join_admission_group(pid, key, target, as_student(key))
        else:
            app.leave_admission_group(pid, key, as_student(key))
    except RegistrationError:
        pass


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    grades=st.lists(st.integers(7, 12), min_size=len(KEYS), max_size=len(KEYS)),
    ops=operations,
    caps=st.sampled_from(CAP_SETS),
    seed=st.integers(0, 2**32),
)
def test_runs_respect_caps_keep_groups_and_replay(grades: list[int], ops: list[Any], caps: Any, seed: int) -> None:
    config = Settings.from_mapping({"REGLEDGER_STORE": "memory"})
    app = new_app(config)
    try:
        w = build_world(app, settings={"phase_zero": True, "admission_group_size": 3})
        grade = dict(zip(KEYS, grades, strict=True))
        for key in KEYS:
            w.profile(key, SCHOOL_YEAR + 12 - grade[key])
        for op in ops:
            apply(app, w.program_id, op)
        groups = {frozenset(v.members) for k in KEYS if (v := app.show_admission_ticket(w.program_id, k)).entered}
        first = app.start_admission(w.program_id, caps, admin(), seed=seed)
        again = app.start_admission(w.program_id, caps, admin(), seed=seed)
        assert first.ids["run_id"] != again.ids["run_id"]
        run_id = app.load_admission_run(first.ids["run_id"]).id
        other = app.load_admission_run(again.ids["run_id"])
        assert app.load_admission_run(run_id).assignment_digest == other.assignment_digest
        app.commit_admission(run_id, admin())
        program = app.load_program(w.program_id)
        admitted = {k for k in KEYS if w.student_id(k) in program.admitted}
        parsed = parse_caps(caps)
        counts = Counter(bucket_of(parsed, grade[k]) for k in admitted)
        assert all(counts[b] <= parsed[b].cap for b in counts)
        for members in groups:
            assert members <= admitted or not members & admitted
        assert admitted <= {k for g in groups for k in g}
        app.__dict__.pop("_admissions", None)  # recompute from the log, not from the kept result
        assert app.replay_admission(run_id).identical
        assert app.admission_result(run_id).digest() == other.assignment_digest
    finally:
        app.close()
