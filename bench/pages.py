"""Web console pages at Splash scale on PostgreSQL: server time per page.

The same set-up as `catalogue_reads.py` (3,000 students, ~700 sections over 12 timeslots,
~170k events, a committed lottery plus a second, uncommitted run to compare), then
`regledger serve` in its own process. One client (httpx, keep-alive, the session cookie of a
registrar, and of a student for the student page) asks each page `--requests` times after a
warm-up. Baseline: `GET /health` on the same server and connection in the same run (HTTP,
routing and the client; no database, no template), so the ratio says what the page adds.

Prints JSON lines {"name", "value", "unit", "baseline", "ratio"} per page (p50 and p99 in ms);
target: every page's p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import httpx
from _baseline import add_postgres_arguments, scratch_database
from catalogue_reads import pct, served, splash, timings

from regledger.adapters.auth import build_token_store
from regledger.adapters.bootstrap import build
from regledger.adapters.settings import Settings
from regledger.domain.values import CommandContext


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--sections", type=int, default=700)
    parser.add_argument("--classes", type=int, default=550)
    parser.add_argument("--requests", type=int, default=100)
    add_postgres_arguments(parser)
    args = parser.parse_args()
    with scratch_database(args, "pages") as settings:
        services = build(settings, follow=False)
        try:
            run(services, settings, args)
        finally:
            services.close()


def figure(name: str, value: float, baseline: float) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 2),
        "unit": "ms",
        "baseline": round(baseline, 2),
        "ratio": round(value / baseline, 2),
    }


def run(services: Any, settings: Settings, args: argparse.Namespace) -> None:
    app = services.app
    stored, slug, committed = splash(services, settings, args)
    other = app.start_lottery(stored.program_id, CommandContext(actor="bench"), seed=1).ids["run_id"]
    services.projector.catch_up()
    views = services.views
    sections = views.section_views(stored.program_id)
    busiest = max(sections, key=lambda s: s.enrolled)
    student = views.program_students(stored.program_id, limit=1)[0]
    label = views.timeslots(stored.program_id)[0].label
    print(f"# {app.position()} events, {len(sections)} sections", file=sys.stderr)
    admin_pages = {
        "programs": "/admin",
        "board": f"/admin/p/{slug}",
        "board_live": f"/admin/p/{slug}/board/live",
        "board_series_svg": f"/admin/p/{slug}/board/series.svg",
        "catalogue": f"/admin/p/{slug}/sections",
        "catalogue_timeslot_free": f"/admin/p/{slug}/sections?timeslot={label}&free=true",
        "section": f"/admin/p/{slug}/sections/{busiest.code}",
        "students": f"/admin/p/{slug}/students",
        "students_search": f"/admin/p/{slug}/students?q={student.key}",
        "student": f"/admin/p/{slug}/students/{student.key}",
        "lottery": f"/admin/p/{slug}/lottery",
        "lottery_run": f"/admin/p/{slug}/lottery/{committed}",
        "lottery_compare": f"/admin/p/{slug}/lottery/compare?run={committed}&run={other}",
        "audit": f"/admin/p/{slug}/audit",
        "audit_student": f"/admin/p/{slug}/audit?student={student.key}",
    }
    tokens = build_token_store(settings)
    admin_token = tokens.create("admin", "bench")
    student_token = tokens.create("student", f"{slug}/{student.key}")
    tokens.close()
    lines = []
    with served(settings) as base:
        with httpx.Client(base_url=base) as client:
            timings(client, "/health", 50)
            health = timings(client, "/health", args.requests * 2)
        base_p50, base_p99 = pct(health, 0.5), pct(health, 0.99)
        for cookie, pages in ((admin_token, admin_pages), (student_token, {"student_page": "/"})):
            with httpx.Client(base_url=base, cookies={"rl_session": cookie}) as client:
                for name, url in pages.items():
                    timings(client, url, 10)  # warm: prepared statements, caches, templates
                    took = timings(client, url, args.requests)
                    lines.append(figure(f"pages.{name}.p50_ms", pct(took, 0.5), base_p50))
                    lines.append(figure(f"pages.{name}.p99_ms", pct(took, 0.99), base_p99))
    for line in lines:
        print(json.dumps(line))
    worst = max((line for line in lines if line["name"].endswith("p99_ms")), key=lambda line: line["value"])
    print(
        json.dumps(
            {
                "name": "pages.worst_p99_ms",
                "value": worst["value"],
                "unit": "ms",
                "baseline": 50.0,
                "ratio": round(worst["value"] / 50.0, 2),
            }
        )
    )
    print(f"# worst: {worst['name']}", file=sys.stderr)


if __name__ == "__main__":
    main()
