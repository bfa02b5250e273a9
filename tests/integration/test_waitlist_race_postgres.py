"""A seat freed while the queued student frees their own slot, raced for real on PostgreSQL.

Per round: `a{i}` holds the one seat of `s{i}`; `w{i}` holds `t{i}` (same timeslot) and queues for
`s{i}`. At one barrier, one app drops `a{i}` from `s{i}` while another drops `w{i}` from `t{i}`.
Each command reads the other's state before it changes, so without a conflict between them the
seat stays free with `w{i}` queued and able to take it (the demo's waitlist check found this; the
policy is docs/waitlists.md). Whatever the order, `w{i}` must end in `s{i}`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from tests.application.conftest import World, as_student, build_world

ROUNDS = 24


def _race(first: Callable[[], object], second: Callable[[], object]) -> list[str]:
    barrier = threading.Barrier(2)
    errors: list[str] = []

    def run(command: Callable[[], object]) -> None:
        barrier.wait()
        try:
            command()
        except RegistrationError as refusal:  # pragma: no cover - reported by the assertion
            errors.append(refusal.code)

    threads = [threading.Thread(target=run, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.postgres
@pytest.mark.parametrize("log_layout", ["shared", "per_program"])
def test_the_seat_reaches_the_queued_student_whoever_saves_first(
    make_postgres_settings: Any, make_app: Any, log_layout: str
) -> None:
    settings = make_postgres_settings().model_copy(update={"log_layout": log_layout})
    one: Registration = make_app(settings, Registration)
    other: Registration = make_app(settings, Registration)
    w: World = build_world(one, settings={"waitlist_enabled": True}, timeslots=1)
    other.clock = w.clock
    for i in range(ROUNDS):
        w.subject(f"s{i}", class_size_max=1)
        w.section(f"s{i}", f"s{i}", [0])
        w.subject(f"t{i}", class_size_max=1)
        w.section(f"t{i}", f"t{i}", [0])
        for key in (f"a{i}", f"w{i}"):
            w.profile(key)
        w.add(f"a{i}", f"s{i}")
        w.add(f"w{i}", f"t{i}")
        w.waitlist(f"w{i}", f"s{i}")

    for i in range(ROUNDS):
        s, t = w.sections[f"s{i}"], w.sections[f"t{i}"]
        errors = _race(
            lambda: one.drop_section(w.program_id, f"a{i}", s, as_student(f"a{i}")),  # noqa: B023 - run now
            lambda: other.drop_section(w.program_id, f"w{i}", t, as_student(f"w{i}")),  # noqa: B023 - run now
        )
        assert errors == [], (i, errors)

    fresh: Registration = make_app(settings, Registration)
    missed = []
    for i in range(ROUNDS):
        section = fresh.load_section(w.sections[f"s{i}"])
        if set(section.enrolled) != {w.student_id(f"w{i}")} or section.waitlist:
            missed.append(i)
    assert missed == [], f"{len(missed)} of {ROUNDS} freed seats stayed free with their student queued"
