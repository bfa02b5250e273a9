"""The demo's class-change round (after the first-come-first-served rush): a fifth of the students
request sections, a class-change run is started, committed and replayed, and the no-worse
guarantee is checked on its input."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING
from uuid import UUID

from regledger.adapters.cli_common import table
from regledger.adapters.cli_lottery import print_replay
from regledger.adapters.simulation.class_change_requests import place_requests
from regledger.domain.lottery.class_change import problems
from regledger.domain.values import CommandContext

if TYPE_CHECKING:
    from rich.console import Console

    from regledger.adapters.simulation.synthetic import SyntheticProgram
    from regledger.domain.application import Registration
    from regledger.domain.ids import ProgramId, SectionId

SHARE = 0.2


def class_change_round(
    app: Registration,
    program: SyntheticProgram,
    pid: ProgramId,
    section_of: Callable[[str, int], SectionId],
    seed: int,
    console: Console,
) -> bool:
    """Requests, a run, its commit and replay; True when the replay is identical and nobody is
    worse off."""
    ctx = CommandContext(actor="admin:demo", reason="demo class change")
    with console.status("students request class changes..."):
        placed = place_requests(app, program, pid, section_of, share=SHARE, seed=seed)
    with console.status("computing the class change..."):
        started = app.start_class_change(pid, ctx, seed=seed)
    run_id = UUID(started.ids["run_id"])
    run = app.load_class_change_run(run_id)
    committed = app.commit_class_change(run_id, CommandContext(actor="admin:demo", reason="demo class change"))
    stats = run.stats
    console.print(
        f"4. class change: {placed.students} students made {placed.requests} requests; run {run_id} "
        f"(seed {run.seed}) moved {committed.ids.get('seats_moved', '0')} seats"
    )
    rows = [
        ("Students changed / unchanged", f"{stats['students_changed']} / {stats['students_unchanged']}"),
        ("Seats moved", stats["seats_moved"]),
        *(
            (
                f"{'Priority ' + str(lv['level']) if lv['level'] else 'No priority'} granted",
                f"{lv['granted']}/{lv['requested']}",
            )
            for lv in stats["levels"]
        ),
        ("Winners pushed back", stats["pushed_back"]),
        ("Requests on sections with a waitlist or closed", stats["requests_unavailable"]),
    ]
    console.print(table("Class-change run", ["", "value"], rows))
    report = app.replay_class_change(run_id)
    print_replay(report)
    snapshot = app.class_change_input(pid, run.input_position)
    found = problems(snapshot.input, app.class_change_assignment(run_id))
    if found:
        console.print(f"[red]class change broke its guarantees:[/red] {found[:5]}")
    return report.identical and not found
