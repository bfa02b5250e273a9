"""The demo's class-change round on a small synthetic program, after its main lottery."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from rich.console import Console

from regledger.adapters.demo_class_change import class_change_round
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.application import Registration
from regledger.domain.values import ENROLLED, CommandContext


def test_a_class_change_round_after_the_lottery_moves_students_and_keeps_its_guarantees(
    memory_settings: Any, make_app: Any
) -> None:
    app: Registration = make_app(memory_settings, Registration)
    program = generate_program(11, students=120, sections=40, classes=30, timeslots=6, days=1)
    stored = store_synthetic_program(app, program, CommandContext(actor="admin:test"))
    lottery = app.start_lottery(stored.program_id, CommandContext(actor="admin:test"), seed=1)
    app.commit_lottery(UUID(lottery.ids["run_id"]), CommandContext(actor="admin:test"))
    before = {s.key: app.get_student(stored.program_id, s.key).holding(ENROLLED) for s in program.students}
    console = Console(record=True, width=120)

    ok = class_change_round(app, program, stored.program_id, lambda c, i: stored.section_ids[(c, i)], 5, console)

    assert ok
    text = console.export_text()
    assert "4. class change:" in text
    assert "Class-change run" in text
    after = {s.key: app.get_student(stored.program_id, s.key).holding(ENROLLED) for s in program.students}
    assert before != after
