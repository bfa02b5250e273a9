"""The demo's day of the program: check-in, a no-show sweep after the first timeslot (its seats
go to the waitlists), and walk-ins seated by a batch registration."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from regledger.adapters.cli_common import table
from regledger.domain.ids import ProgramId, SectionId, TimeslotId, timeslot_id
from regledger.domain.values import CommandContext

if TYPE_CHECKING:
    from rich.console import Console

    from regledger.adapters.bootstrap import Services
    from regledger.adapters.simulation.synthetic import SyntheticProgram

CHECKED_IN = 0.9
WALK_INS = 5


def onsite_round(
    services: Services, program: SyntheticProgram, pid: ProgramId, seed: int, console: Console, *, step: int
) -> bool:
    """True when the sweep ended only seats of students who did not check in."""
    app = services.app
    rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
    ctx = CommandContext(actor="admin:demo", reason="demo day")
    keys = [s.key for s in program.students]
    arrived = {k for k in keys if rng.random() < CHECKED_IN}
    with console.status("students check in at the door..."):
        for key in sorted(arrived):
            app.check_in(pid, key, ctx)
    first = min(program.timeslots, key=lambda t: t.start)
    slot = TimeslotId(timeslot_id(pid, first.label))
    preview = app.unenroll_no_shows(pid, slot, ctx, preview=True)
    swept = app.unenroll_no_shows(pid, slot, CommandContext(actor="admin:demo", reason="no-shows at 9:15"))
    seats = sum(len(v) for v in swept.removed.values())
    services.wait_for(app.position(), timeout=30)
    roomy = max(services.views.seat_counts(pid), key=lambda c: (c.free, str(c.section_id)))
    walk_ins = sorted(arrived)[:WALK_INS]
    batch = app.batch_register(pid, SectionId(roomy.section_id), walk_ins, ctx)
    rows = [
        ("Checked in", f"{len(arrived)}/{len(keys)}"),
        (f"No-shows at {first.label} (preview, then swept)", f"{len(preview.removed)}, {len(swept.removed)}"),
        ("Seats they held, freed for the waitlists", str(seats)),
        ("Walk-ins seated by a batch", ", ".join(f"{n} {s}" for s, n in sorted(batch.counts.items()))),
    ]
    console.print(table(f"{step}. The day of the program", ["", "value"], rows))
    return not (set(swept.removed) & arrived)
