"""Delivery through failures: an SMTP server that is down and comes back, and a notifier process
killed with SIGKILL mid-way and restarted (none lost, none written twice)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from regledger.adapters.notifier.follower import Notifier
from regledger.adapters.notifier.sender import Sender
from regledger.adapters.notifier.store import EMAIL, WEBHOOK, backoff
from regledger.adapters.settings import Settings
from tests.notifier.helpers import Program, SmtpServer, admin, email_of, smtp_environ, store_environ


def wait_past_backoff(outbox, seconds: float = 5.0) -> None:
    """Until every pending message is due again (the test backoff is 0.05 s, doubling)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = outbox.list(status="pending")
        if all(r.next_attempt_at is None or r.next_attempt_at.timestamp() <= time.time() for r in rows):
            return
        time.sleep(0.02)
    raise AssertionError("messages did not come due again")


def test_a_server_that_is_down_is_retried_with_backoff_then_delivered(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    p.profile("ada")
    p.add("ada")
    app.drop_section(p.pid, "ada", p.section, admin("no-show"))
    Notifier(app, outbox, from_start=True).catch_up()
    sender = Sender.for_settings(notify_settings, outbox)
    smtp_server.stop()

    for attempt in (1, 2, 3):
        report = sender.send_due()
        assert report.unreachable
        [row] = outbox.list()
        assert (row.status, row.attempts) == ("pending", attempt)
        assert "unreachable" in (row.last_error or "")
        wait_past_backoff(outbox)

    smtp_server.start()
    report = sender.send_due()
    sender.close()
    assert (report.sent, report.unreachable) == (1, False)
    [row] = outbox.list()
    assert (row.status, row.attempts, row.sent_at is not None) == ("sent", 4, True)
    assert smtp_server.received.to() == {email_of("ada"): 1}


def test_a_refused_recipient_fails_at_once_and_the_others_are_sent(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    for key in ("ada", "bo"):
        p.profile(key)
        p.add(key)
    app.cancel_section(p.section, admin())
    smtp_server.refused.add(email_of("ada"))
    Notifier(app, outbox, from_start=True).catch_up()
    sender = Sender.for_settings(notify_settings, outbox)
    report = sender.send_due()
    sender.close()
    assert (report.sent, report.failed, report.retrying) == (1, 1, 0)
    status = {r.student_key: (r.status, r.attempts, r.next_attempt_at) for r in outbox.list()}
    assert status["ada"] == ("failed", 1, None)
    assert status["bo"][:2] == ("sent", 1)
    [failed] = outbox.list(status="failed")
    assert "550" in (failed.last_error or "")
    assert smtp_server.received.to() == {email_of("bo"): 1}


def test_out_of_attempts_is_failed_for_good(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    p.profile("ada")
    p.add("ada")
    app.drop_section(p.pid, "ada", p.section, admin())
    Notifier(app, outbox, from_start=True).catch_up()
    smtp_server.stop()
    settings = Settings.from_mapping(
        {**store_environ(notify_settings), **smtp_environ(smtp_server.port), "REGLEDGER_NOTIFY_MAX_ATTEMPTS": "2"}
    )
    sender = Sender.for_settings(settings, outbox)
    sender.send_due()
    wait_past_backoff(outbox)
    sender.send_due()
    sender.close()
    [row] = outbox.list()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 2, None)
    assert sender.send_due().sent == 0  # never tried again


class Hook(BaseHTTPRequestHandler):
    """Answers the first `failures` POSTs with 503, then 204; keeps what it accepted."""

    failures = 0
    accepted: list[dict[str, Any]]

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).failures > 0:
            type(self).failures -= 1
            self.send_response(503)
        else:
            type(self).accepted.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, type[Hook]]]:
    handler = type("Hook1", (Hook,), {"failures": 1, "accepted": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def test_the_webhook_gets_every_message_and_is_retried(app, notify_settings, outbox, smtp_server, webhook):
    url, hook = webhook
    p = Program(app)
    p.profile("ada")
    p.profile("bo", email=False)
    p.add("ada")
    p.add("bo")
    app.cancel_section(p.section, admin())
    Notifier(app, outbox, channels=(EMAIL, WEBHOOK), from_start=True).catch_up()
    settings = Settings.from_mapping(
        {**store_environ(notify_settings), **smtp_environ(smtp_server.port), "REGLEDGER_WEBHOOK_URL": url}
    )
    sender = Sender.for_settings(settings, outbox)
    first = sender.send_due()  # the hook answers 503 once: that round stops there
    assert first.unreachable
    wait_past_backoff(outbox)
    sender.send_due()
    sender.close()

    assert sorted(b["student_key"] for b in hook.accepted) == ["ada", "bo"]
    assert {b["kind"] for b in hook.accepted} == {"cancellation"}
    assert [b["email"] for b in hook.accepted if b["student_key"] == "bo"] == [None]
    by_channel = {(r.student_key, r.channel): (r.status, r.attempts) for r in outbox.list()}
    assert by_channel[("bo", EMAIL)] == ("no_address", 0)
    assert by_channel[("ada", EMAIL)] == ("sent", 1)
    assert sorted(by_channel[(k, WEBHOOK)] for k in ("ada", "bo")) == [("sent", 1), ("sent", 2)]
    assert smtp_server.received.to() == {email_of("ada"): 1}


def test_the_backoff_doubles_up_to_an_hour():
    assert [backoff(n, 30).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert backoff(30, 30).total_seconds() == 3600


def season(app) -> dict[str, int]:
    """60 students in M101s1 and 30 of them in P201s1 too; an admin drops each from M101s1
    (60 commits), then P201s1 is cancelled (one commit). Returns the mails expected per address."""
    p = Program(app, seats=100)
    physics = p.new_section(p.new_class("P201", "Physics", 100))
    keys = [f"s{n:03}" for n in range(60)]
    for key in keys:
        p.profile(key)
        p.add(key)
    for key in keys[:30]:
        p.add(key, physics)
    for key in keys:
        app.drop_section(p.pid, key, p.section, admin("moved"))
    app.cancel_section(physics, admin())
    return {email_of(k): 2 if k in keys[:30] else 1 for k in keys}


def start_notifier(settings: Settings, smtp_port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **store_environ(settings), **smtp_environ(smtp_port)}
    command = [str(Path(sys.executable).with_name("regledger")), "notify", "run", "--from-start", *extra]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def test_none_lost_and_none_duplicated_across_sigkill(app, notify_settings, outbox, smtp_server: SmtpServer):
    expected = season(app)
    total = sum(expected.values())
    kills, mid_follow, rng = 0, 0, random.Random(14)
    while kills < 8:
        process = start_notifier(notify_settings, smtp_server.port, "--batch-size", "1")
        try:
            # Let it write some of the outbox (or send some), then kill it without warning.
            deadline = time.monotonic() + 30
            before = len(smtp_server.received.messages), outbox.counts()
            while (len(smtp_server.received.messages), _counts(outbox)) == before and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.05))
            counts = _counts(outbox)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        kills += 1
        mid_follow += sum(counts.values()) < total
        if counts["sent"] == total:
            break
    finish = start_notifier(notify_settings, smtp_server.port, "--once")
    assert finish.wait(60) == 0, finish.stderr.read() if finish.stderr else ""

    assert mid_follow >= 1, "no kill landed while the outbox was being written"
    rows = outbox.list(limit=1000)
    assert len(rows) == total  # one row per (commit, student): nothing written twice
    assert {r.status for r in rows} == {"sent"}
    delivered = smtp_server.received.ids()
    assert set(delivered) == {r.message_id for r in rows}  # none lost
    # At least once over SMTP: a kill between the server's 250 and the `sent` commit sends that
    # one message again (same Message-ID), at most one per kill.
    assert sum(delivered.values()) - len(delivered) <= kills
    per_address = smtp_server.received.to()
    assert {a: min(n, expected[a]) for a, n in per_address.items()} == expected


def _counts(outbox) -> dict[str, int]:
    return outbox.counts()


def test_notify_run_follows_new_events_and_stops_on_sigterm(app, notify_settings, outbox, smtp_server):
    p = Program(app)
    p.profile("ada")
    p.add("ada")
    process = start_notifier(notify_settings, smtp_server.port)
    try:
        app.drop_section(p.pid, "ada", p.section, admin())  # while it follows
        deadline = time.monotonic() + 30
        while not smtp_server.received.messages and time.monotonic() < deadline:
            time.sleep(0.01)
        assert smtp_server.received.to() == {email_of("ada"): 1}
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(30)
    stderr = process.stderr.read().decode() if process.stderr else ""
    assert code == 0, stderr
    assert "stopped at position" in stderr
    assert outbox.counts()["sent"] == 1
