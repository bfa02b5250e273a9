"""Catalogue and named reads over HTTP at Splash scale on PostgreSQL: latency per endpoint.

A throwaway database gets the synthetic program (3,000 students, 700 sections, 12 timeslots;
`store_synthetic_program`), a committed lottery so sections hold seats, and caught-up views.
`regledger serve` runs in its own process, as in production; one client (httpx, keep-alive)
asks each endpoint `--requests` times in turn after a warm-up, with an admin token. Baseline:
`GET /health` on the same server and connection in the same run (HTTP, routing and the
client, no database), so the ratio says what the read itself adds.

Prints JSON lines {"name", "value", "unit", "baseline", "ratio"} per endpoint (p50 and p99 in
ms); target: every p99 <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
from _baseline import add_postgres_arguments, scratch_database

from regledger.adapters.auth import build_token_store
from regledger.adapters.bootstrap import build
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.values import CommandContext


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """`regledger serve` on the bench database, in its own process."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env.update(
        REGLEDGER_STORE="postgres",
        REGLEDGER_POSTGRES_HOST=settings.postgres_host,
        REGLEDGER_POSTGRES_PORT=str(settings.postgres_port),
        REGLEDGER_POSTGRES_USER=settings.postgres_user,
        REGLEDGER_POSTGRES_DB=settings.postgres_db,
    )
    command = [sys.executable, "-m", "regledger", "serve", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("regledger serve did not start")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def timings(client: httpx.Client, url: str, count: int) -> list[float]:
    out = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(url)
        out.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--sections", type=int, default=700)
    parser.add_argument("--classes", type=int, default=550)
    parser.add_argument("--requests", type=int, default=300)
    add_postgres_arguments(parser)
    args = parser.parse_args()
    with scratch_database(args, "catalogue") as settings:
        services = build(settings, follow=False)
        try:
            run(services, settings, args)
        finally:
            services.close()


def splash(services: Any, settings: Settings, args: argparse.Namespace) -> tuple[Any, str, str]:
    """The synthetic program stored, its lottery committed, the views caught up and analysed:
    (the stored program, its slug, the committed run's id)."""
    app = services.app
    ctx = CommandContext(actor="bench", command_id="bench-load")
    program = generate_program(0, students=args.students, sections=args.sections, classes=args.classes)
    stored = store_synthetic_program(app, program, ctx)
    with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as conn:
        conn.execute("ANALYZE registration_events")  # as a production cluster's autovacuum would
    started = app.start_lottery(stored.program_id, CommandContext(actor="bench"), seed=0)
    app.commit_lottery(uuid.UUID(started.ids["run_id"]), CommandContext(actor="bench"))
    services.projector.catch_up()
    services.views.optimize()  # statistics for the planner, as `regledger rebuild` leaves them
    return stored, f"synthetic-{program.seed}", started.ids["run_id"]


def run(services: Any, settings: Settings, args: argparse.Namespace) -> None:
    stored, slug, _run = splash(services, settings, args)
    views = services.views
    sections = views.section_views(stored.program_id)
    busiest = max(sections, key=lambda s: s.enrolled)
    student = views.program_students(stored.program_id, limit=1)[0]
    label = views.timeslots(stored.program_id)[0].label
    print(
        f"# {stored.events} events, {len(sections)} sections, {sum(s.enrolled for s in sections)} seats taken",
        file=sys.stderr,
    )
    endpoints = {
        "program": f"/programs/{slug}",
        "sections_first_page": f"/programs/{slug}/sections",
        "sections_page_of_100": f"/programs/{slug}/sections?limit=100",
        "sections_timeslot_free": f"/programs/{slug}/sections?timeslot={label}&has_free=true",
        "classes_first_page": f"/programs/{slug}/classes",
        "classes_page_of_50": f"/programs/{slug}/classes?limit=50",
        "section_by_code": f"/programs/{slug}/sections/{busiest.code}",
        "roster_named": f"/sections/{busiest.section_id}/roster",
        "schedule_named": f"/programs/{slug}/students/{student.key}/schedule",
        "counts_named": f"/programs/{slug}/counts",
    }
    tokens = build_token_store(settings)
    headers = {"Authorization": f"Bearer {tokens.create('admin', 'bench')}"}
    tokens.close()
    lines = []
    with served(settings) as base, httpx.Client(base_url=base, headers=headers) as client:
        timings(client, "/health", 50)
        health = timings(client, "/health", args.requests)
        base_p50, base_p99 = pct(health, 0.5), pct(health, 0.99)
        for name, url in endpoints.items():
            timings(client, url, 20)  # warm: prepared statements, caches
            took = timings(client, url, args.requests)
            for q, baseline in ((0.5, base_p50), (0.99, base_p99)):
                value = pct(took, q)
                lines.append(
                    {
                        "name": f"catalogue.{name}.p{round(q * 100)}_ms",
                        "value": round(value, 2),
                        "unit": "ms",
                        "baseline": round(baseline, 2),
                        "ratio": round(value / baseline, 2),
                    }
                )
        lines.append(
            {
                "name": "catalogue.health.mean_ms",
                "value": round(statistics.mean(health), 2),
                "unit": "ms",
                "baseline": None,
                "ratio": None,
            }
        )
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
