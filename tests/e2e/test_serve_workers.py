"""`regledger serve --workers N`: several processes answer, writes from each land in one log,
and a scrape of /metrics sums every worker's counts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serving import free_port, postgres_env, stop_process, wait_until_up

BIN = Path(sys.executable).parent
WORKERS = 2


@pytest.fixture
def workers(postgres_settings, tmp_path):
    env = postgres_env(postgres_settings)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp_path / "metrics")  # serve makes one when unset
    (tmp_path / "metrics").mkdir()
    port = free_port()
    command = ["serve", "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning"]
    processes = [
        subprocess.Popen(
            [str(BIN / "regledger"), *command], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ),
        subprocess.Popen(
            [str(BIN / "regledger"), "project"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, processes, path="/openapi.json", exited=stop_process, timeout=60)
        yield base, env
    finally:
        outputs = [stop_process(process) for process in processes]
        for output in outputs:
            assert "Traceback" not in output, output


def _answering_processes(base: str, tries: int = 200) -> set[int]:
    seen: set[int] = set()
    for _ in range(tries):
        with httpx.Client(base_url=base, timeout=5) as fresh:  # a new connection each time
            seen.add(fresh.get("/health").json()["process"])
        if len(seen) == WORKERS:
            break
    return seen


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_workers_share_the_load_the_log_and_the_metrics(workers, tmp_path):
    base, env = workers
    assert len(_answering_processes(base)) == WORKERS

    created = subprocess.run(
        [str(BIN / "regledger"), "token", "create", "--role", "admin", "--subject", "ops"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    admin = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    slugs = [f"w{i}" for i in range(12)]
    for slug in slugs:  # new connections: the kernel spreads them over the workers
        with httpx.Client(base_url=base, headers=admin, timeout=10) as fresh:
            answer = fresh.post("/programs", json={"slug": slug, "title": slug.upper(), "school_year": 2027})
            assert answer.status_code == 201, answer.text
            position = answer.json()["position"]
    with httpx.Client(base_url=base, headers=admin, timeout=10) as client:
        listed = client.get("/programs", params={"min_position": position}).json()
        assert {p["slug"] for p in listed["programs"]} >= set(slugs)
        scraped = client.get("/metrics").text
    assert _metric(scraped, "regledger_commands_total", command="create_program", outcome="applied") == len(slugs)
    assert re.search(r"regledger_projector_lag_events \d", scraped)


def test_several_workers_are_refused_on_sqlite(tmp_path):
    env = {"PATH": str(BIN), "REGLEDGER_STORE": "sqlite", "REGLEDGER_SQLITE_PATH": str(tmp_path / "x.sqlite3")}
    done = subprocess.run(
        [str(BIN / "regledger"), "serve", "--workers", "2", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--workers 2 needs PostgreSQL" in done.stderr
