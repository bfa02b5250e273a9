"""The audit log at Splash scale: its page and its queries, on SQLite and PostgreSQL (not tests).

    .venv/bin/python bench/audit.py [--store sqlite|postgres|both] [--requests 50]

Stores a synthetic Splash (3,000 students, ~700 sections, a committed lottery: ~170k events),
projects it, then times in-process (FastAPI's TestClient with a registrar's session cookie,
so the figure is the server's time plus the in-process client) the audit page unfiltered,
deep in the log, and filtered by student, section, kind, actor and a time range; and the
views' query alone for the same filters. Prints JSON lines {"name", "value", "unit",
"baseline", "ratio"} (p50 and p99 in ms); target: every page's p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

from _baseline import add_postgres_arguments, scratch_database

from regledger.adapters.auth import build_token_store
from regledger.adapters.bootstrap import build
from regledger.adapters.http.app import create_app
from regledger.adapters.settings import Settings
from regledger.adapters.simulation.seed import store_synthetic_program
from regledger.adapters.simulation.synthetic import generate_program
from regledger.domain.values import CommandContext
from regledger.projections.audit_views import AuditQuery

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(call: Callable[[], Any], count: int) -> list[float]:
    for _ in range(5):
        call()
    out = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def figure(name: str, value: float, target: float | None = None) -> None:
    ratio = None if target is None else round(value / target, 2)
    print(json.dumps({"name": name, "value": round(value, 2), "unit": "ms", "baseline": target, "ratio": ratio}))


def run(store: str, settings: Settings, args: argparse.Namespace) -> None:
    services = build(settings, follow=False)
    try:
        app = services.app
        program = generate_program(0, students=args.students, sections=args.sections, classes=args.classes)
        t = time.perf_counter()
        stored = store_synthetic_program(app, program, CommandContext(actor="bench", command_id="bench-load"))
        run_id = app.start_lottery(stored.program_id, CommandContext(actor="bench"), seed=0).ids["run_id"]
        app.commit_lottery(uuid.UUID(run_id), CommandContext(actor="admin:bench", reason="the lottery"))
        services.projector.catch_up()
        services.views.optimize()
        print(f"# {store}: {app.position()} events, loaded in {time.perf_counter() - t:.0f}s", file=sys.stderr)
        views, pid, slug = services.views, stored.program_id, f"synthetic-{program.seed}"
        newest = views.audit(pid, AuditQuery(limit=1))[0]
        oldest = views.audit(pid, AuditQuery(limit=1, oldest_first=True))[0]
        middle = (newest.position + oldest.position) // 2
        student = views.program_students(pid, limit=1)[0].key
        section = max(views.section_views(pid), key=lambda s: s.enrolled).code
        hour = newest.recorded_at - timedelta(minutes=1)
        pages = {
            "page": "",
            "page_deep": f"?after={middle}",
            "page_oldest": "?order=oldest",
            "page_student": f"?student={student}",
            "page_section": f"?section={section}",
            "page_kind_rare": "?kind=Program.WindowSet",
            "page_kind_student": f"?kind=Student.SectionRegistered&student={student}",
            "page_actor": "?actor=admin:bench",
            "page_time_last_minute": f"?since={hour.isoformat()}",
        }
        tokens = build_token_store(settings)
        cookie = tokens.create("admin", "bench")
        tokens.close()
        with TestClient(create_app(services), cookies={"rl_session": cookie}) as client:
            for name, query in pages.items():
                url = f"/admin/p/{slug}/audit{query.replace('+', '%2B')}"

                def get(url: str = url) -> None:
                    response = client.get(url)
                    if response.status_code != 200:
                        raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")

                took = timed(get, args.requests)
                figure(f"audit.{store}.{name}.p50", pct(took, 0.5))
                figure(f"audit.{store}.{name}.p99", pct(took, 0.99), 50.0)
            csv_took = timed(lambda: client.get(f"/admin/p/{slug}/audit.csv?student={student}"), 10)
            figure(f"audit.{store}.csv_student.p50", pct(csv_took, 0.5))
        queries = {
            "query": AuditQuery(limit=101),
            "query_student": AuditQuery(student_id=program.student_id(student), limit=101),
            "query_kind_rare": AuditQuery(kinds=("Program.WindowSet",), limit=101),
        }
        for name, q in queries.items():
            took = timed(lambda q=q: views.audit(pid, q), args.requests)
            figure(f"audit.{store}.{name}.p50", pct(took, 0.5))
    finally:
        services.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--sections", type=int, default=700)
    parser.add_argument("--classes", type=int, default=550)
    parser.add_argument("--requests", type=int, default=50)
    add_postgres_arguments(parser)
    args = parser.parse_args()
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run("sqlite", Settings(store="sqlite", sqlite_path=Path(tmp) / "audit.sqlite3"), args)
    if args.store in ("postgres", "both"):
        with ExitStack() as stack:
            run("postgres", stack.enter_context(scratch_database(args, "audit")), args)


if __name__ == "__main__":
    main()
