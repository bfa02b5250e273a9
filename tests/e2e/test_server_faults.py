"""A real `regledger serve` process across database faults, and against a huge unauthenticated body.

- Every backend it has is terminated, twice in a row: the commands after each succeed.
- The database goes away for ~3 s (a TCP proxy in front of it is cut): each request fails fast
  with 503 `database_unavailable`, and the API recovers once the database is back.
- Every acknowledged command is in the log afterwards (none lost).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg import sql

from regledger.adapters.auth import build_token_store
from regledger.adapters.settings import Settings
from regledger.domain.ids import program_id, student_id
from tests.http.tcp_proxy import TcpProxy
from tests.serving import free_port, postgres_env, stop_process, wait_until_up

BIN = Path(sys.executable).parent
SLUG = "faults"


@pytest.fixture
def proxy(postgres_server: Any) -> Iterator[TcpProxy]:
    proxy = TcpProxy(postgres_server.host, postgres_server.port)
    yield proxy
    proxy.close()


@pytest.fixture
def serve(
    postgres_settings: Settings, proxy: TcpProxy, tmp_path: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(base url, process): `serve --no-follow` whose every connection goes through `proxy`."""
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "regledger"), "serve", "--port", str(port), "--no-follow", "--log-level", "warning"],
        env=postgres_env(postgres_settings, proxy.port),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, [process], path="/openapi.json")
        yield base, process
    finally:
        output = stop_process(process, timeout=15)
        assert "Traceback" not in output, output
        assert process.returncode in (0, -signal.SIGTERM), output


def _terminate_backends(postgres_server: Any) -> int:
    with postgres_server.connect() as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()
    time.sleep(0.2)  # the signal is asynchronous
    return int(row[0]) if row else 0


def _registered(postgres_server: Any, schema: str) -> set[Any]:
    with postgres_server.connect() as conn:
        rows = conn.execute(
            sql.SQL("SELECT originator_id FROM {}.registration_events WHERE topic LIKE %s").format(
                sql.Identifier(schema)
            ),
            ("%:Student.Registered",),
        ).fetchall()
    return {row[0] for row in rows}


def test_the_api_rides_out_terminated_backends_and_an_outage(serve, proxy, postgres_settings, postgres_server):
    base, _ = serve
    tokens = build_token_store(postgres_settings)
    admin = {"Authorization": f"Bearer {tokens.create('admin', 'faults')}"}
    tokens.close()
    acknowledged: set[str] = set()
    requests = 0

    with httpx.Client(base_url=base, headers=admin, timeout=30) as client:

        def register(key: str) -> httpx.Response:
            nonlocal requests
            requests += 1
            response = client.put(
                f"/programs/{SLUG}/students/{key}/profile",
                json={"name": key.title(), "graduation_year": 2029},
                headers={"Idempotency-Key": f"profile-{key}"},
            )
            if response.status_code == 200:
                acknowledged.add(key)
            return response

        assert client.post("/programs", json={"slug": SLUG, "title": "Faults", "school_year": 2027}).status_code == 201
        for round_ in range(2):
            assert _terminate_backends(postgres_server) > 0
            for i in range(3):
                response = register(f"t{round_}x{i}")
                assert response.status_code == 200, response.text
            counts = client.get(f"/programs/{SLUG}/counts")
            assert counts.status_code == 200, counts.text

        timings: list[tuple[str, int, float]] = []
        pending: list[str] = []
        failures: list[str] = []
        proxy.cut()
        cut_at = time.monotonic()

        def hammer(worker: int) -> None:
            # Several clients at once, as in production: each request must still fail fast.
            with httpx.Client(base_url=base, headers=admin, timeout=30) as own:
                i = 0
                while time.monotonic() - cut_at < 3.0:
                    key = f"o{worker}x{i}"
                    i += 1
                    for method, url, kwargs in (
                        (
                            "PUT",
                            f"/programs/{SLUG}/students/{key}/profile",
                            {
                                "json": {"name": key.title(), "graduation_year": 2029},
                                "headers": {"Idempotency-Key": f"profile-{key}"},
                            },
                        ),
                        ("GET", f"/programs/{SLUG}/counts", {}),
                    ):
                        started = time.monotonic()
                        response = own.request(method, url, **kwargs)
                        timings.append((method, response.status_code, time.monotonic() - started))
                        body = response.json()
                        if response.status_code != 503 or body["code"] != "database_unavailable":
                            failures.append(f"{method} {url}: {response.status_code} {response.text}")
                        elif method == "PUT":
                            if body["detail"] != {"outcome_unknown": False} or not response.headers["retry-after"]:
                                failures.append(f"{method} {url}: {response.text} {response.headers}")
                            pending.append(key)

        workers = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=30)
        requests += len(timings)
        assert failures == []
        proxy.restore()
        restored_at = time.monotonic()
        while True:
            key = pending[0]
            if register(key).status_code == 200:
                break
            assert time.monotonic() - restored_at < 15, "no recovery within 15 s"
            time.sleep(0.1)
        recovery = time.monotonic() - restored_at
        for key in pending[1:]:  # the same Idempotency-Key: at most one write each
            assert register(key).status_code == 200
        assert client.get(f"/programs/{SLUG}/counts").status_code == 200

    slowest = max(took for _, _, took in timings)
    print(
        f"\nrequests {requests}, acknowledged {len(acknowledged)}; during the outage {len(timings)} requests, "
        f"slowest {slowest:.2f} s (PUT max {max(t for m, _, t in timings if m == 'PUT'):.2f} s, "
        f"GET max {max(t for m, _, t in timings if m == 'GET'):.2f} s); recovered {recovery:.2f} s after"
    )
    assert slowest < 2.5
    pid = program_id(SLUG)
    in_log = _registered(postgres_server, postgres_settings.postgres_schema)
    lost = {key for key in acknowledged if student_id(pid, key) not in in_log}
    assert lost == set()
    assert len(in_log) == len(acknowledged)  # and nothing written twice or unacknowledged


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's RSS from /proc")
def test_an_unauthenticated_50_mb_streamed_post_is_refused_without_being_read(serve):
    base, process = serve
    host, port = base.removeprefix("http://").split(":")
    rss_before = _rss_kib(process.pid)
    chunk = b"x" * 65536
    sent = 0
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /programs HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        sock.setblocking(False)
        reply = b""
        while sent < 50 * 1024 * 1024 and b"\r\n\r\n" not in reply:
            try:
                reply += sock.recv(65536)
                continue
            except BlockingIOError:
                pass
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                time.sleep(0.01)
                if process.poll() is not None:
                    break
        sock.setblocking(True)
        while b"\r\n\r\n" not in reply:
            data = sock.recv(65536)
            if not data:
                break
            reply += data
    status = reply.split(b"\r\n", 1)[0]
    growth = _rss_kib(process.pid) - rss_before
    print(f"\nsent {sent / 1e6:.1f} MB before the answer {status.decode()!r}; server RSS grew {growth} KiB")
    assert status.split()[1] in (b"401", b"413")
    assert sent < 10 * 1024 * 1024
    assert growth < 20 * 1024
