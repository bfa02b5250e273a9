"""The demo's Phase Zero: a second, oversubscribed program admits its entrants by lottery,
whole groups of friends at a time, within per-grade caps, before any class registration."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING
from uuid import UUID

from regledger.adapters.cli_common import table
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import program_id
from regledger.domain.values import CommandContext

if TYPE_CHECKING:
    from rich.console import Console

    from regledger.domain.application import Registration

ENTRANTS = 120
CAPS = {"7-8": 20, "9-10": 25, "11-12": 25}


def admission_round(app: Registration, seed: int, school_year: int, console: Console, *, step: int) -> bool:
    """True when the replay is identical and no grade bucket went over its cap."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
    admin = CommandContext(actor="admin:demo", reason="demo Phase Zero")
    slug = f"phase-zero-{seed}"
    app.create_program(slug, "Oversubscribed Splash", admin, school_year=school_year, settings={"phase_zero": True})
    pid = program_id(slug)
    keys = [f"p{n:04d}" for n in range(ENTRANTS)]
    with console.status("students enter the admission lottery, some as groups of friends..."):
        for key in keys:
            me = CommandContext(actor=f"student:{slug}/{key}")
            contacts = {"email": f"{key}@example.org"}
            app.submit_profile(pid, key, key, school_year + 12 - rng.randint(7, 12), contacts, me)
            if rng.random() < 0.4 and key != keys[0]:
                friend = rng.choice(keys[: keys.index(key)])
                try:
                    app.join_admission_group(pid, key, friend, me)
                    continue
                except RegistrationError:  # a full group: enter alone instead
                    pass
            app.enter_admission(pid, key, me)
    started = app.start_admission(pid, CAPS, admin, seed=seed)
    run_id = UUID(started.ids["run_id"])
    app.commit_admission(run_id, CommandContext(actor="admin:demo", reason="demo Phase Zero"))
    stats = app.admission_stats(run_id)
    rows = [(f"grades {b['grades']}", f"{b['admitted_after']}/{b['cap']}") for b in stats["buckets"]]
    rows.append(("entrants in tickets", f"{stats['entrants']} in {stats['tickets']}"))
    rows.append(("admitted (whole groups)", f"{stats['winners']} in {stats['winning_tickets']} groups"))
    console.print(table(f"{step}. Phase Zero of {slug}: admitted / cap per grade bucket", ["", "value"], rows))
    replay = app.replay_admission(run_id)
    within = all(b["admitted_after"] <= b["cap"] for b in stats["buckets"])
    return bool(replay.identical) and within
