"""`regledger serve` and `regledger project` as real processes on PostgreSQL, driven over HTTP."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serving import free_port, postgres_env, stop_process, wait_until_up

BIN = Path(sys.executable).parent


@pytest.fixture(params=["shared", "per_program"])
def server(request, postgres_settings, tmp_path):
    """(base url, env): `serve --no-follow` plus `project`, stopped (SIGTERM) before the schema goes;
    in each log layout."""
    env = {**postgres_env(postgres_settings), "REGLEDGER_LOG_LAYOUT": request.param}
    port = free_port()
    processes = [
        subprocess.Popen(
            [str(BIN / "regledger"), "serve", "--port", str(port), "--no-follow", "--log-level", "warning"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [str(BIN / "regledger"), "project"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ),
    ]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, processes, path="/openapi.json", exited=stop_process)
        yield base, env
    finally:
        outputs = [stop_process(process) for process in processes]
        for process, output in zip(processes, outputs, strict=True):
            assert "Traceback" not in output, output
            # uvicorn shuts down, then re-raises the signal it caught: -SIGTERM is its clean exit.
            assert process.returncode in (0, -signal.SIGTERM), output


def test_a_short_season_over_http_against_real_processes(server, tmp_path):
    base, env = server
    created = subprocess.run(
        [str(BIN / "regledger"), "token", "create", "--role", "admin", "--subject", "e2e"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    admin = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}

    with httpx.Client(base_url=base, headers=admin, timeout=10) as client:

        def ok(method, url, **kwargs):
            response = client.request(method, url, **kwargs)
            assert response.status_code in (200, 201), response.text
            return response.json()

        assert client.get("/programs/e2e/counts", headers={"Authorization": "Bearer rl_nope"}).status_code == 401
        ok("POST", "/programs", json={"slug": "e2e", "title": "E2E Splash", "school_year": 2027})
        slot = ok(
            "POST",
            "/programs/e2e/timeslots",
            json={"label": "Sat 9:00", "start": "2026-11-21T09:00:00Z", "end": "2026-11-21T09:50:00Z"},
        )["ids"]["timeslot_id"]
        subject = ok("POST", "/programs/e2e/subjects", json={"code": "K1", "title": "Knots", "class_size_max": 1})
        section = ok("POST", f"/subjects/{subject['ids']['subject_id']}/sections", json={"timeslot_ids": [slot]})
        section_id = section["ids"]["section_id"]
        ok("PUT", "/programs/e2e/students/ada/profile", json={"name": "Ada", "graduation_year": 2029})
        ok("PUT", "/programs/e2e/students/ben/profile", json={"name": "Ben", "graduation_year": 2029})
        added = ok("POST", "/programs/e2e/students/ada/registrations", json={"section_id": section_id})
        full = client.post("/programs/e2e/students/ben/registrations", json={"section_id": section_id})
        assert full.status_code == 409
        assert full.json()["code"] == "section_full"

        # Read-your-writes through the separate projector process.
        roster = ok("GET", f"/sections/{section_id}/roster", params={"min_position": added["position"]})
        assert roster["position"] >= added["position"]
        assert roster["student_ids"] == [added["ids"]["student_id"]]
