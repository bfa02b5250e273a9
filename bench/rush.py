"""A Splash registration opening over HTTP: a closed-loop rush against `regledger serve` (issue 16).

    .venv/bin/python bench/rush.py [--quick] [--steps 4,16,64] [--seconds 10]

A throwaway PostgreSQL database gets the synthetic program (`store_synthetic_program`: 3,000
students with profiles, ~700 sections over 12 timeslots), waitlists on, the lottery started and
committed, one student token per student, caught-up views. Then, in this process, the baseline:
plain enrolls (`add_section` into sections with room) from 4 threads sharing one app. Then
`regledger project` and `regledger serve --workers N` run in their own processes (N from
`--servers`: one worker process, then two), and an
asyncio client (aiohttp, keep-alive: lighter than httpx, so the client takes less of the
two cores the server needs) drives a closed loop at each concurrency for `--seconds`:
70% add (Zipf-hot sections), 15% drop, 10% switch, 5% the student's schedule with
`min_position`, each command with its own Idempotency-Key, each student acting with its own
token. After every step the Section aggregates (fresh app, no cache) and the views are checked:
no section over capacity, no student enrolled twice in one timeslot. At the end the views are
rebuilt under another prefix and compared with the live ones.

Output: JSON lines {"name", "value", "unit", "baseline", "ratio"} on stdout; progress and a
markdown table on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from _baseline import add_postgres_arguments, run_threads, scratch_database
from _profile import record, shares
from _rush_checks import check_aggregates, check_views, env_for, process, rebuild_identical, servers

from regledger.adapters.bootstrap import Services, build, build_application
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.errors import RegistrationError
from regledger.domain.ids import ProgramId, SectionId
from regledger.domain.values import ENROLLED, CommandContext

PROFILED_CLIENTS = 16
MIX = (("add", 0.70), ("drop", 0.15), ("switch", 0.10), ("query", 0.05))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def line(name: str, value: float, unit: str, baseline: float | None = None) -> dict[str, Any]:
    fig = {
        "name": name,
        "value": round(value, 2),
        "unit": unit,
        "baseline": None if baseline is None else round(baseline, 2),
        "ratio": None if not baseline else round(value / baseline, 3),
    }
    print(json.dumps(fig), flush=True)
    return fig


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- the program ----------------------------------------------------------------------------


@dataclass
class World:
    """What the client knows: the program, tokens, sections (hot first), who holds what."""

    slug: str
    program_id: ProgramId
    tokens: dict[str, str]
    sections: list[SectionId]  # in Zipf rank order: sections[0] is the hottest
    weights: list[float]
    subject_of: dict[SectionId, uuid.UUID]
    siblings: dict[uuid.UUID, list[SectionId]]
    held: dict[str, set[SectionId]] = field(default_factory=dict)


def set_up(services: Services, settings: Settings, args: argparse.Namespace) -> World:
    app = services.app
    admin = CommandContext(actor="bench")
    program = generate_program(0, students=args.students, sections=args.sections, classes=round(args.sections * 0.79))
    stored = store_synthetic_program(app, program, admin)
    pid = stored.program_id
    app.change_settings(pid, {"waitlist_enabled": True}, CommandContext(actor="bench"))
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute("ANALYZE registration_events")
    started = app.start_lottery(pid, CommandContext(actor="bench"), seed=0)
    app.commit_lottery(uuid.UUID(started.ids["run_id"]), CommandContext(actor="bench"))
    services.projector.catch_up()
    services.views.optimize()
    slug = f"synthetic-{program.seed}"
    keys = [s.key for s in program.students]
    batch = services.tokens.create_many("student", [f"{slug}/{key}" for key in keys], actor="bench")
    tokens = {t.student_key: t.token for t in batch.tokens}
    counts = [c for c in services.views.seat_counts(pid) if c.capacity > 0]
    rng = random.Random(16)
    rng.shuffle(counts)
    sections = [SectionId(c.section_id) for c in counts]
    weights = [1.0 / (rank + 1) ** 1.07 for rank in range(len(sections))]
    subject_of = {SectionId(c.section_id): c.subject_id for c in counts}
    siblings: dict[uuid.UUID, list[SectionId]] = {}
    for c in counts:
        siblings.setdefault(c.subject_id, []).append(SectionId(c.section_id))
    held = {key: {r.section_id for r in app.get_student(pid, key).holding(ENROLLED)} for key in keys}
    log(
        f"# {stored.events} events, {len(counts)} sections, {len(keys)} students, "
        f"{sum(len(h) for h in held.values())} seats after the lottery"
    )
    return World(slug, pid, tokens, sections, weights, subject_of, siblings, held)


# -- in-process baseline --------------------------------------------------------------------


def inprocess_enroll_rate(settings: Settings, world: World, threads: int, seconds: float) -> float:
    """Adds into sections with room (the colder half), `threads` threads sharing one app."""
    app = build_application(settings.model_copy(update={"postgres_pool_size": threads}))
    cold = world.sections[len(world.sections) // 2 :]
    keys = sorted(world.tokens)
    deadline = time.perf_counter() + seconds
    outcomes: dict[str, int] = {}  # counts only: a lost increment between threads does not matter

    def work(i: int) -> int:
        rng = random.Random(1000 + i)
        done = 0
        while time.perf_counter() < deadline:
            key = rng.choice(keys)
            section = rng.choice(cold)
            try:
                app.add_section(world.program_id, key, section, CommandContext(actor=f"student:{key}"))
                world.held.setdefault(key, set()).add(section)
                outcomes["accepted"] = outcomes.get("accepted", 0) + 1
            except RegistrationError as refusal:
                outcomes[refusal.code] = outcomes.get(refusal.code, 0) + 1
            done += 1
        return done

    try:
        rate = run_threads(threads, work)
        log(f"  enroll in-process, {threads} threads: {dict(sorted(outcomes.items()))}")
        return rate
    finally:
        app.close()


# -- the rush -------------------------------------------------------------------------------


@dataclass
class Step:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    def count(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1


def pick_op(rng: random.Random, only_add: bool) -> str:
    if only_add:
        return "add"
    roll = rng.random()
    for op, share in MIX:
        if roll < share:
            return op
        roll -= share
    return "query"


@dataclass
class Answer:
    op: str
    status: int
    body: dict[str, Any]
    sections: tuple[SectionId, ...] = ()  # add: (section,), drop: (section,), switch: (from, to)


async def send(session: aiohttp.ClientSession, method: str, url: str, op: str, **kwargs: Any) -> Answer:
    async with session.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None) if response.status != 204 else {}
        return Answer(op, response.status, body if isinstance(body, dict) else {})


async def one_request(
    session: aiohttp.ClientSession, world: World, rng: random.Random, key: str, op: str, position: int, only_add: bool
) -> Answer:
    student = f"/programs/{world.slug}/students/{key}"
    headers = {"Authorization": f"Bearer {world.tokens[key]}", "Idempotency-Key": uuid.uuid4().hex}
    held = world.held.setdefault(key, set())
    if op == "drop" and held:
        section = rng.choice(sorted(held))
        answer = await send(session, "DELETE", f"{student}/registrations/{section}", op, headers=headers)
        answer.sections = (section,)
        return answer
    if op == "switch":
        movable = [(s, [o for o in world.siblings[world.subject_of[s]] if o != s]) for s in sorted(held)]
        movable = [(s, others) for s, others in movable if others]
        if movable:
            source, others = rng.choice(movable)
            target = rng.choice(others)
            body = {"from_section_id": str(source), "to_section_id": str(target)}
            answer = await send(session, "POST", f"{student}/switch", op, json=body, headers=headers)
            answer.sections = (source, target)
            return answer
    if op == "query":
        url = f"{student}/schedule?min_position={position}"
        return await send(session, "GET", url, op, headers={"Authorization": headers["Authorization"]})
    if only_add:
        section = rng.choice(world.sections[len(world.sections) // 2 :])
    else:
        section = rng.choices(world.sections, weights=world.weights)[0]
    body = {"section_id": str(section)}
    answer = await send(session, "POST", f"{student}/registrations", "add", json=body, headers=headers)
    answer.sections = (section,)
    return answer


def track(world: World, key: str, answer: Answer) -> int:
    """Update who holds what from an accepted command; returns its position (0 if none)."""
    if answer.status >= 300 or answer.op == "query":
        return 0
    held = world.held.setdefault(key, set())
    if answer.op == "add":
        held.add(answer.sections[0])
    elif answer.op == "drop":
        held.discard(answer.sections[0])
    elif answer.op == "switch":
        held.discard(answer.sections[0])
        held.add(answer.sections[1])
    return int(answer.body.get("position", 0))


async def rush_step(bases: list[str], world: World, concurrency: int, seconds: float, only_add: bool = False) -> Step:
    step = Step()
    keys = sorted(world.tokens)
    timeout = aiohttp.ClientTimeout(total=30)
    sessions = [
        aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=concurrency), timeout=timeout)
        for base in bases
    ]
    deadline = time.perf_counter() + seconds

    async def worker(number: int) -> None:
        rng = random.Random(number * 7919 + concurrency)
        session = sessions[number % len(sessions)]
        position = 0
        while time.perf_counter() < deadline:
            key = rng.choice(keys)
            op = pick_op(rng, only_add)
            started = time.perf_counter()
            try:
                answer = await one_request(session, world, rng, key, op, position, only_add)
            except (aiohttp.ClientError, TimeoutError):
                step.errors += 1
                continue
            step.latencies.append((time.perf_counter() - started) * 1000)
            if answer.status >= 500:
                step.errors += 1
            code = f" {answer.body.get('code', '')}" if 400 <= answer.status < 500 else ""
            step.count(f"{answer.op} {answer.status}{code}")
            position = max(position, track(world, key, answer))

    try:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        step.elapsed = time.perf_counter() - started
    finally:
        for session in sessions:
            await session.close()
    return step


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--sections", type=int, default=700)
    parser.add_argument("--steps", default="4,16,64", help="client concurrencies, comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0, help="per step")
    parser.add_argument("--servers", default="1,2", help="`serve --workers` counts to measure, comma-separated")
    parser.add_argument("--profile", metavar="PATH", help=f"py-spy samples of 1 worker at {PROFILED_CLIENTS} clients")
    parser.add_argument("--quick", action="store_true", help="300 students, 70 sections, steps 4,16, 3 s")
    parser.add_argument(
        "--log-layout", choices=("shared", "per_program"), default="shared", help="REGLEDGER_LOG_LAYOUT"
    )
    add_postgres_arguments(parser)
    args = parser.parse_args()
    if args.quick:
        args.students, args.sections, args.steps, args.seconds = 300, 70, "4,16", 3.0
    log(f"load average at start: {os.getloadavg()}")
    with scratch_database(args, "rush") as scratch:
        settings = scratch.model_copy(update={"log_layout": args.log_layout})
        services = build(settings, follow=False)
        try:
            run(services, settings, args)
        finally:
            services.close()
    log(f"load average at end: {os.getloadavg()}")


def run(services: Services, settings: Settings, args: argparse.Namespace) -> None:
    world = set_up(services, settings, args)
    steps = [int(s) for s in args.steps.split(",")]
    server_counts = [int(s) for s in args.servers.split(",")]
    inprocess = inprocess_enroll_rate(settings, world, 4, args.seconds)
    line("rush.inprocess_enroll_4_threads", inprocess, "commands/s")
    results: list[tuple[int, int, float, float, float, int]] = []
    over_total = double_total = 0
    http_enroll: dict[int, float] = {}
    default_workers = os.cpu_count() or 1  # what `serve` runs on PostgreSQL when not told
    with process([sys.executable, "-m", "regledger", "project"], env_for(settings)):
        for count in server_counts:
            with servers(settings, count) as (bases, pid):
                asyncio.run(rush_step(bases, world, 4, 1.0))  # warm: connections, caches
                enroll = asyncio.run(rush_step(bases, world, 16, args.seconds, only_add=True))
                http_enroll[count] = len(enroll.latencies) / enroll.elapsed
                log(f"  enroll over HTTP, {count} workers, 16 clients: {dict(sorted(enroll.outcomes.items()))}")
                for concurrency in steps:
                    sampler = None
                    if args.profile and count == 1 and concurrency == PROFILED_CLIENTS:
                        sampler = record(pid, args.seconds, Path(args.profile))
                    step = asyncio.run(rush_step(bases, world, concurrency, args.seconds))
                    if sampler is not None:
                        sampler.wait(timeout=60)
                        for layer, share in shares(Path(args.profile)).items():
                            line(
                                f"rush.profile.1.{concurrency}.{re.sub(r'[^a-z]+', '_', layer).strip('_')}",
                                100 * share,
                                "% GIL samples",
                            )
                    rate = len(step.latencies) / step.elapsed
                    p50, p99 = pct(step.latencies, 0.5), pct(step.latencies, 0.99)
                    name = f"rush.{count}.{concurrency}"
                    line(f"{name}.commands_per_s", rate, "commands/s")
                    line(f"{name}.p50_ms", p50, "ms")
                    line(f"{name}.p99_ms", p99, "ms")
                    line(f"{name}.errors", step.errors, "requests")
                    over, double = check_aggregates(settings, world)
                    over_views = check_views(services, world)
                    over_total += over + over_views
                    double_total += double
                    log(f"  {name}: {dict(sorted(step.outcomes.items()))}; over {over}/{over_views}, double {double}")
                    results.append((count, concurrency, rate, p50, p99, step.errors))
        identical = rebuild_identical(services, settings)
    best50 = max((r[2] for r in results if r[4] <= 50), default=0.0)
    best200 = max((r[2] for r in results if r[4] <= 200), default=0.0)
    line("rush.best_commands_per_s_p99_under_50ms", best50, "commands/s")
    line("rush.best_commands_per_s_p99_under_200ms", best200, "commands/s")
    for count, rate in sorted(http_enroll.items()):
        line(f"rush.{count}.16.enroll_commands_per_s", rate, "commands/s", inprocess)
    served = http_enroll.get(default_workers, max(http_enroll.values(), default=0.0))
    line("rush.http_vs_inprocess_ratio", served / inprocess if inprocess else 0.0, "ratio")
    line("rush.over_capacity", over_total, "sections")
    line("rush.double_booked", double_total, "student-timeslots")
    line("rush.rebuild_identical", int(identical), "bool")
    log("")
    log("| workers | clients | commands/s | p50 ms | p99 ms | errors |")
    log("|---:|---:|---:|---:|---:|---:|")
    for count, concurrency, rate, p50, p99, errors in results:
        log(f"| {count} | {concurrency} | {rate:,.0f} | {p50:.0f} | {p99:.0f} | {errors} |")


if __name__ == "__main__":
    main()
