"""A lottery's cold start at Splash scale on PostgreSQL: from a checkpoint against from zero.

A throwaway database gets the synthetic program (default 3,000 students, 700 sections, 12
timeslots) as real aggregate events. A first `start_lottery` folds the whole log and saves a
checkpoint of the fold at its position. Then a tail is written (a closed section, a settings
change, `--tail` late students with a profile and a star each), and fresh processes (new
interpreters, nothing folded) time their first `start_lottery`:

* `lottery.start_lottery_cold`: with the checkpoint (read it, fold the tail only); the
  baseline is the same start with checkpoints off (the fold from zero, as before them);
* `lottery.part_checkpoint_read`: reading and restoring the checkpoint alone;
* `lottery.part_fold_from_zero`: the fold from zero alone (no start), in the same process;
* `lottery.start_lottery_first`: the very first start, which folds from zero and saves.

Prints JSON lines {"name", "value", "unit", "baseline", "ratio"} (median of `--repeat` fresh
processes for the cold starts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from _baseline import add_postgres_arguments, scratch_database

from regledger.adapters.bootstrap import build_application
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.ids import ProgramId
from regledger.domain.values import CommandContext
from regledger.projections.lottery_fold_state import fold_signature, load_fold
from regledger.projections.lottery_input import LotteryInputFold


def figure(name: str, value: float, unit: str, baseline: float | None) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 3),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if not baseline else round(value / baseline, 3),
    }


def admin() -> CommandContext:
    return CommandContext(actor="bench")


def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def child(args: argparse.Namespace) -> None:
    """One fresh process: build the app, time one thing, print {"seconds": ...}."""
    settings = Settings.from_mapping(json.loads(args.child_settings))
    app = build_application(settings)
    program_id = ProgramId(uuid.UUID(args.program_id))
    fold = app.lottery_inputs
    assert isinstance(fold, LotteryInputFold)
    out: dict[str, Any] = {}
    if args.child == "no-checkpoint":
        fold.checkpoints = None
    if args.child == "read-checkpoint":
        checkpoints = fold.checkpoints
        assert checkpoints is not None
        head = app.position()
        restored, out["seconds"] = timed(
            lambda: load_fold(checkpoints.latest(program_id, head, fold_signature()) or {})
        )
        assert restored is not None
    elif args.child == "fold-from-zero":
        _, out["seconds"] = timed(lambda: app.lottery_snapshot_from_zero(program_id, app.position()))
    else:
        result, out["seconds"] = timed(lambda: app.start_lottery(program_id, admin(), seed=args.seed))
        out["run_id"] = result.ids["run_id"]
    app.close()
    print(json.dumps(out))


def fresh(kind: str, settings: Settings, program_id: ProgramId, seed: int) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--child-settings",
        json.dumps(
            {
                "REGLEDGER_STORE": "postgres",
                "REGLEDGER_POSTGRES_HOST": settings.postgres_host,
                "REGLEDGER_POSTGRES_PORT": str(settings.postgres_port),
                "REGLEDGER_POSTGRES_USER": settings.postgres_user,
                "REGLEDGER_POSTGRES_DB": settings.postgres_db,
            }
        ),
        "--program-id",
        str(program_id),
        "--seed",
        str(seed),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def write_tail(settings: Settings, program_id: ProgramId, count: int) -> int:
    app = build_application(settings)
    before = app.position()
    sections = app.lottery_inputs.program_members(program_id)[0]
    app.set_section_open(sorted(sections)[0], False, admin())
    app.change_settings(program_id, {"min_stars": 0}, CommandContext(actor="bench", reason="tail"))
    subject = app.load_section(sorted(sections)[1]).subject_id
    for n in range(count):
        key = f"late{n}"
        app.submit_profile(program_id, key, key.title(), 2029, {}, CommandContext(actor=key))
        app.star(program_id, key, subject, CommandContext(actor="bench", override=True, reason="tail"))
    written = app.position() - before
    app.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--sections", type=int, default=700)
    parser.add_argument("--classes", type=int, default=550)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tail", type=int, default=100, help="late students (3 events each) after the checkpoint")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per cold measurement")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-settings", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--program-id", default=None, help=argparse.SUPPRESS)
    add_postgres_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    lines: list[dict[str, Any]] = []
    notes: dict[str, Any] = {}
    with scratch_database(args, "lottery_cold") as settings:
        app = build_application(settings)
        program = generate_program(args.seed, students=args.students, sections=args.sections, classes=args.classes)
        stored, load = timed(lambda: store_synthetic_program(app, program, admin()))
        notes.update(events=stored.events, load_s=round(load, 1))
        app.close()
        # As bench/lottery.py: a production cluster analyzes the table by itself.
        with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
            conn.execute("ANALYZE registration_events")
        program_id = stored.program_id

        first = fresh("start", settings, program_id, args.seed)
        lines.append(figure("lottery.start_lottery_first", first["seconds"], "s", 1.0))
        notes["tail_events"] = write_tail(settings, program_id, args.tail)
        with psycopg.connect(settings.postgres_conninfo()) as conn:
            row = conn.execute("SELECT length(state), position FROM regledger_lottery_inputs").fetchone()
        notes.update(checkpoint_bytes=row[0] if row else None, checkpoint_position=row[1] if row else None)

        def median(kind: str, seed_base: int) -> float:
            return statistics.median(
                fresh(kind, settings, program_id, seed_base + k)["seconds"] for k in range(args.repeat)
            )

        from_zero = median("no-checkpoint", 100)
        cold = median("start", 200)
        lines.append(figure("lottery.start_lottery_cold", cold, "s", from_zero))
        lines.append(figure("lottery.part_checkpoint_read", median("read-checkpoint", 300), "s", None))
        lines.append(figure("lottery.part_fold_from_zero", median("fold-from-zero", 400), "s", None))
    for line in lines:
        print(json.dumps(line))
    print(json.dumps({"notes": notes}))


if __name__ == "__main__":
    main()
