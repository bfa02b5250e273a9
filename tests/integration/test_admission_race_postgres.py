"""Students racing for the last place in a Phase Zero group, on PostgreSQL, from two apps:
exactly one gets it, the group never exceeds its size, and the loser is told `admission_group_full`."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from regledger.domain.application import Registration
from regledger.domain.errors import RegistrationError
from tests.application.conftest import as_student, build_world


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", range(5))
def test_only_one_student_takes_the_last_place_in_a_group(
    make_postgres_settings: Any, make_app: Any, attempt: int
) -> None:
    settings = make_postgres_settings()
    first: Registration = make_app(settings, Registration)
    second: Registration = make_app(settings, Registration)
    w = build_world(first, settings={"phase_zero": True, "admission_group_size": 2})
    for key in ("alice", "bob", "carol"):
        w.profile(key)
    w.app.enter_admission(w.program_id, "alice", as_student("alice"))
    second.clock = w.clock
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def join(app: Registration, key: str) -> None:
        barrier.wait()
        try:
            app.join_admission_group(w.program_id, key, "alice", as_student(key))
            outcomes[key] = "joined"
        except RegistrationError as refusal:
            outcomes[key] = refusal.code

    threads = [threading.Thread(target=join, args=(app, key)) for app, key in ((first, "bob"), (second, "carol"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes.values()) == ["admission_group_full", "joined"], (attempt, outcomes)
    fresh: Registration = make_app(settings, Registration)
    ticket = fresh.show_admission_ticket(w.program_id, "alice")
    assert len(ticket.members) == 2
    winner = next(k for k, v in outcomes.items() if v == "joined")
    assert set(ticket.members) == {"alice", winner}
