"""The demo's class-change round on a small synthetic program, after its main lottery."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from regledger.adapters.bootstrap import build_application
from regledger.adapters.demo_class_change import class_change_round
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.class_change_requests import place_requests
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.application import Registration
from regledger.domain.request_commands import current_requests
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


def _schedules(app: Registration, pid: Any, keys: list[str]) -> dict[str, dict[Any, Any]]:
    return {k: {r.section_id: r for r in app.get_student(pid, k).holding(ENROLLED)} for k in keys}


def _free_lunch(refs: Any, lunch_days: list[set[Any]], lunch_sections: set[Any]) -> list[int]:
    taken = {t for r in refs if r.section_id not in lunch_sections for t in r.timeslot_ids}
    return [len(day - taken) for day in lunch_days]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), draw=st.integers(0, 2**32))
def test_a_committed_class_change_keeps_every_guarantee_on_the_live_aggregates(seed: int, draw: int) -> None:
    store = Settings.from_mapping({"REGLEDGER_STORE": "memory"})
    store.prepare()
    app = build_application(store)
    try:
        program = generate_program(seed, students=60, sections=24, classes=18, timeslots=4, days=2)
        stored = store_synthetic_program(app, program, CommandContext(actor="admin:test"))
        pid = stored.program_id
        lottery = app.start_lottery(pid, CommandContext(actor="admin:test"), seed=draw)
        app.commit_lottery(UUID(lottery.ids["run_id"]), CommandContext(actor="admin:test"))
        place_requests(app, program, pid, lambda c, i: stored.section_ids[(c, i)], share=0.5, seed=draw)
        keys = [s.key for s in program.students]
        before = _schedules(app, pid, keys)
        requested = {k: set(current_requests(app.get_student(pid, k))) for k in keys}
        sections = {sid: app.load_section(sid) for sid in stored.section_ids.values()}
        seats_before = {sid: len(s.enrolled) for sid, s in sections.items()}
        run_id = UUID(app.start_class_change(pid, CommandContext(actor="admin:test"), seed=draw).ids["run_id"])
        app.commit_class_change(run_id, CommandContext(actor="admin:test"))
        assert app.replay_class_change(run_id).identical

        lunch_classes = {c.code for c in program.classes if c.is_lunch}
        lunch_sections = {sid for (code, _), sid in stored.section_ids.items() if code in lunch_classes}
        days: dict[Any, set[Any]] = {}
        for sid in lunch_sections:
            for t in sections[sid].timeslot_ids:
                days.setdefault(app.load_program(pid).timeslots[t].start.date(), set()).add(t)
        lunch_days = list(days.values())
        after = _schedules(app, pid, keys)
        for sid in sections:
            section = app.load_section(sid)
            assert len(section.enrolled) <= max(section.capacity, seats_before[sid])
        for key in keys:
            old, new = before[key], after[key]
            slots = [t for r in new.values() for t in r.timeslot_ids]
            assert len(slots) == len(set(slots)), key
            assert {t for r in old.values() for t in r.timeslot_ids} <= set(slots), key
            assert set(new) - set(old) <= requested[key], key
            old_lunch = _free_lunch(old.values(), lunch_days, lunch_sections)
            new_lunch = _free_lunch(new.values(), lunch_days, lunch_sections)
            assert all(n >= min(1, o) for n, o in zip(new_lunch, old_lunch, strict=True)), key
    finally:
        app.close()
