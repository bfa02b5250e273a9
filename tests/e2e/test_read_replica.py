"""Queries on a real streaming standby (docs/read-replicas.md).

The module makes its own throwaway primary and a hot standby streaming from it, with the
PostgreSQL binaries run as the postgres OS user into a temporary directory (initdb; the
standby by `pg_basebackup -R`), on free ports; the shared server on 5432 is never touched.
Both clusters are stopped and removed at the end. Every test uses its own schema, and leaves
the standby streaming and replaying as it found it.
"""

from __future__ import annotations

import logging
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from regledger.adapters.bootstrap import Services, build
from regledger.adapters.http.app import create_app
from regledger.adapters.settings import Settings
from regledger.adapters.web.session import csrf_token
from regledger.domain.ids import SubjectId, TimeslotId, program_id
from regledger.domain.values import CommandContext
from tests.serving import free_port

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.postgres

PG_BIN = Path(os.environ.get("REGLEDGER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
RETRY = 0.5  # REGLEDGER_READ_REPLICA_RETRY: a failed replica is tried again this soon
DEAD_PORT = free_port()  # nothing listens there: a replica that is down from the start


def _unavailable(reason: str) -> None:
    if os.environ.get("REGLEDGER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"{reason}; REGLEDGER_REQUIRE_POSTGRES=1 makes this an error", pytrace=False)
    pytest.skip(f"{reason}; set REGLEDGER_REQUIRE_POSTGRES=1 to make this an error")


@dataclass
class Cluster:
    """One PostgreSQL instance in a data directory of ours, on a loopback port."""

    data: Path
    port: int
    sockets: Path

    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        _pg("pg_ctl", "-D", str(self.data), "-l", f"{self.data}.log", "-w", "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        _pg("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop", check=False)


def _pg(program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as the postgres OS user (root may not run the server)."""
    command = [str(PG_BIN / program), *args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{program} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done


@dataclass
class Pair:
    primary: Cluster
    standby: Cluster


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    if not (PG_BIN / "initdb").exists():
        _unavailable(f"no PostgreSQL binaries in {PG_BIN}")
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            _unavailable("no postgres OS user to run the throwaway clusters")
    root = Path(tempfile.mkdtemp(prefix="regledger-replica-"))
    if os.geteuid() == 0:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    primary = Cluster(root / "primary", free_port(), root)
    standby = Cluster(root / "standby", free_port(), root)
    try:
        _pg(
            "initdb", "-D", str(primary.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync"
        )
        with (primary.data / "postgresql.conf").open("a") as conf:
            conf.write("wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n")
        with (primary.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        primary.start()
        _pg(
            "pg_basebackup",
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres", "-D", str(standby.data)),
            *("-R", "-X", "stream", "--checkpoint=fast", "--no-sync"),
        )
        standby.start()
        yield Pair(primary, standby)
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Api:
    client: TestClient
    services: Services
    admin: dict[str, str]

    def ok(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = self.client.request(method, url, headers=self.admin, **kwargs)
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def program(self, slug: str) -> int:
        """Create a program (a command, on the primary); its log position."""
        position: int = self.ok("POST", "/programs", json={"slug": slug, "title": slug, "school_year": 2027})[
            "position"
        ]
        return position

    def slugs(self, **params: Any) -> set[str]:
        return {p["slug"] for p in self.ok("GET", "/programs", params=params)["programs"]}

    def metric(self, name: str, **labels: str) -> float:
        text = self.client.get("/metrics", headers=self.admin).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def ready(self) -> tuple[int, dict[str, Any]]:
        response = self.client.get("/ready")
        body: dict[str, Any] = response.json()
        return response.status_code, body


@pytest.fixture
def replica_urls(request: pytest.FixtureRequest, pair: Pair) -> str:
    """REGLEDGER_READ_DATABASE_URL: the standby; with param "dead", then a port nobody listens on."""
    if getattr(request, "param", None) == "dead":
        return f"{pair.standby.url()},postgresql://postgres@127.0.0.1:{DEAD_PORT}/postgres"
    return pair.standby.url()


@pytest.fixture
def api(pair: Pair, replica_urls: str) -> Iterator[Api]:
    schema = f"t_{secrets.token_hex(6)}"
    with pair.primary.connect() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    settings = Settings.from_mapping(
        {
            "REGLEDGER_STORE": "postgres",
            "REGLEDGER_DATABASE_URL": pair.primary.url(),
            "REGLEDGER_READ_DATABASE_URL": replica_urls,
            "REGLEDGER_READ_REPLICA_RETRY": str(RETRY),
            "REGLEDGER_POSTGRES_SCHEMA": schema,
            "REGLEDGER_POSTGRES_POOL_SIZE": "2",
            "REGLEDGER_POSTGRES_MAX_OVERFLOW": "2",
        }
    )
    services = build(settings, follow=True)
    try:
        token = services.tokens.create("admin", "alice")
        with TestClient(create_app(services), raise_server_exceptions=False) as client:
            yield Api(client, services, {"Authorization": f"Bearer {token}"})
    finally:
        services.close()


def _until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)


def _replica(body: dict[str, Any]) -> dict[str, Any]:
    (replica,) = body["replicas"]
    assert isinstance(replica, dict)
    return replica


def test_a_query_with_min_position_reads_its_write_from_the_replica(api: Api, pair: Pair) -> None:
    position = api.program("rw1")
    body = api.ok("GET", "/programs", params={"min_position": position})
    assert "rw1" in {p["slug"] for p in body["programs"]}
    assert body["position"] >= position
    assert api.metric("regledger_query_views_total", source="replica") == 1
    assert api.metric("regledger_replica_fallbacks_total") == 0
    status, ready = api.ready()
    assert status == 200, ready
    replica = _replica(ready)
    assert replica["status"] == "ok"
    assert replica["serving"] is True
    assert replica["in_recovery"] is True
    assert replica["name"] == f"127.0.0.1:{pair.standby.port}/postgres"
    assert replica["views_position"] >= position


def test_a_lagging_replica_is_reported_and_min_position_reads_the_primary(api: Api, pair: Pair) -> None:
    first = api.program("lag1")
    assert "lag1" in api.slugs(min_position=first)
    with pair.standby.connect() as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            _until(
                lambda: standby.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() == ("paused",),
                "replay paused",
            )
            second = api.program("lag2")
            _until(lambda: (api.services.projector.position or 0) >= second, "the primary's views hold lag2")
            # Without min_position a query reads the replica, as it stands: no lag2 yet.
            assert "lag2" not in api.slugs()
            # With it, after read_replica_wait (1 s), the primary's views answer.
            started = time.monotonic()
            assert "lag2" in api.slugs(min_position=second)
            assert 0.9 < time.monotonic() - started < 5
            assert api.metric("regledger_replica_fallbacks_total", reason="lag") == 1
            time.sleep(0.2)
            status, ready = api.ready()
            assert status == 200, ready  # the process stays ready: the primary serves
            replica = _replica(ready)
            assert replica["status"] == "ok"
            assert replica["views_position"] < ready["views_position"]
            assert replica["lag_events"] == ready["views_position"] - replica["views_position"] > 0
            assert replica["replay_lag_seconds"] > 0.1
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    _until(lambda: _replica(api.ready()[1])["lag_events"] == 0, "the replica caught up")
    replica = _replica(api.ready()[1])
    assert replica["replay_lag_seconds"] == 0
    served = api.metric("regledger_query_views_total", source="replica")
    assert "lag2" in api.slugs(min_position=second)
    assert api.metric("regledger_query_views_total", source="replica") == served + 1


def test_a_stopped_replica_sends_queries_to_the_primary_and_commands_go_on(
    api: Api, pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="regledger.replica")
    assert "down1" in api.slugs(min_position=api.program("down1"))
    pair.standby.stop()
    try:
        position = api.program("down2")  # commands never touch the replica
        started = time.monotonic()
        assert "down2" in api.slugs(min_position=position)
        assert time.monotonic() - started < 5
        fallbacks = api.metric("regledger_replica_fallbacks_total")
        assert fallbacks >= 1
        # Left out now: the next query goes straight to the primary, without waiting.
        started = time.monotonic()
        assert "down2" in api.slugs(min_position=position)
        assert time.monotonic() - started < 0.5
        assert api.metric("regledger_replica_fallbacks_total", reason="down") >= 1
        logged = [r.getMessage() for r in caplog.records]
        assert any(m.startswith(f"read replica 127.0.0.1:{pair.standby.port}/postgres failed") for m in logged)
        assert any(m.startswith("queries read the primary's views instead of a replica's") for m in logged)
        status, ready = api.ready()
        assert status == 200, ready
        assert ready["status"] == "ready"
        assert ready["problems"] == []
        replica = _replica(ready)
        assert replica["status"] == "unreachable"
        assert replica["views_position"] is None
        assert replica["error"]
    finally:
        pair.standby.start()
    # Back: after read_replica_retry seconds queries read the replica again.
    _until(lambda: _replica(api.ready()[1])["status"] == "ok", "the replica answers /ready again")
    time.sleep(RETRY)
    served = api.metric("regledger_query_views_total", source="replica")
    position = api.program("down3")
    assert "down3" in api.slugs(min_position=position)
    assert api.metric("regledger_query_views_total", source="replica") == served + 1


@pytest.mark.parametrize("replica_urls", ["dead"], indirect=True)
def test_of_several_replicas_a_dead_one_is_left_out(api: Api, pair: Pair) -> None:
    for step in range(6):
        position = api.program(f"several{step}")
        assert f"several{step}" in api.slugs(min_position=position)
    # In turn: the first query reads the standby, the second tries the dead one (and reads the
    # primary); then the dead one is left out, but for a retry every RETRY seconds.
    assert api.metric("regledger_query_views_total", source="replica") >= 1
    assert api.metric("regledger_replica_fallbacks_total") >= 1
    status, ready = api.ready()
    assert status == 200, ready
    by_port = {r["name"].split("/")[0].rsplit(":", 1)[1]: r for r in ready["replicas"]}
    assert by_port[str(pair.standby.port)]["status"] == "ok"
    assert by_port[str(DEAD_PORT)]["status"] == "unreachable"


def _student_page_set_up(api: Api, slug: str) -> tuple[str, str]:
    """A program with one section and student ada signed in on the api's client (cookie);
    returns (the section id, the page's add form's csrf value)."""
    app = api.services.app

    def admin() -> CommandContext:
        return CommandContext(actor="admin:test", command_id=str(uuid4()))

    app.create_program(slug, slug, admin(), school_year=2027)
    pid = program_id(slug)
    start = datetime(2027, 3, 6, 9, tzinfo=UTC)
    timeslot = app.add_timeslot(pid, "9am", start, start + timedelta(minutes=50), admin()).ids["timeslot_id"]
    subject = app.add_subject(pid, "M101", "Mechanics", admin(), class_size_max=10).ids["subject_id"]
    section = app.create_section(SubjectId(UUID(subject)), [TimeslotId(UUID(timeslot))], admin()).ids["section_id"]
    app.submit_profile(pid, "ada", "Ada", 2029, {}, admin())
    api.client.get("/sign-in")
    nonce = api.client.cookies.get("rl_sign_in")
    token = api.services.tokens.create("student", f"{slug}/ada")
    signed = api.client.post("/sign-in", data={"token": token, "nonce": nonce}, follow_redirects=False)
    assert signed.status_code == 303, signed.text
    return section, csrf_token(token)


def test_the_student_page_reads_the_replica_and_still_shows_the_students_own_add(api: Api, pair: Pair) -> None:
    section, csrf = _student_page_set_up(api, "page1")
    head = api.services.app.recorder.max_notification_id() or 0
    _until(lambda: _replica(api.ready()[1])["views_position"] >= head, "the replica holds the set-up")
    with pair.standby.connect() as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            _until(
                lambda: standby.execute("SELECT pg_get_wal_replay_pause_state()").fetchone() == ("paused",),
                "replay paused",
            )
            form = {"csrf": csrf, "section_id": section, "command_id": str(uuid4())}
            added = api.client.post("/me/add", data=form, follow_redirects=False)
            assert added.status_code == 303, added.text
            # The page after the form waits for its write: the paused replica lacks it, so the
            # primary answers after read_replica_wait.
            after = api.client.get(added.headers["location"])
            assert after.status_code == 200
            assert "Enrolled in M101s1" in after.text
            assert '<table class="schedule">' in after.text
            assert api.metric("regledger_replica_fallbacks_total", reason="lag") >= 1
            # A plain reload reads the replica as it stands: the add is not there yet.
            served = api.metric("regledger_query_views_total", source="replica")
            reload = api.client.get("/")
            assert reload.status_code == 200
            assert '<table class="schedule">' not in reload.text
            assert api.metric("regledger_query_views_total", source="replica") == served + 1
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    _until(lambda: '<table class="schedule">' in api.client.get("/").text, "the replica caught up")
