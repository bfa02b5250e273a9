"""The notifier with a log per program: a commit that lands late in one table still gets its
message, though a later position in another table was followed first."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest

from regledger.adapters.bootstrap import build_application
from regledger.adapters.notifier.program_logs import follower_for
from regledger.adapters.notifier.store import open_outbox
from tests.adapters.test_program_log_projector import HOLD, hold_inserts, wait_until_held, world_with_class
from tests.application.conftest import admin

pytestmark = [pytest.mark.postgres]


def test_a_message_of_a_commit_that_lands_late_in_one_table_is_written(postgres_per_program_settings, open_apps):
    settings: Any = postgres_per_program_settings
    app = build_application(settings)
    open_apps.append(app)
    late, early = world_with_class(app, "late", ["ann"]), world_with_class(app, "early", ["bea"])
    hold_inserts(settings, app.logs.table_of(late.program_id))
    outbox = open_outbox(settings)
    notifier = follower_for(app, outbox, from_start=True)
    try:
        notifier.catch_up()
        with psycopg.connect(settings.postgres_conninfo(), autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (HOLD,))
            held = threading.Thread(target=late.add, args=("ann", "math1", admin(reason="placed by hand")))
            held.start()  # its position is drawn, its commit waits
            wait_until_held(holder)
            early.add("bea", "math1", admin(reason="placed by hand"))  # a later position, committed first
            notifier.catch_up()
            holder.execute("SELECT pg_advisory_unlock(%s)", (HOLD,))
            held.join()
        notifier.catch_up()
        told = {row.student_key for row in outbox.list()}
        assert told == {"ann", "bea"}
    finally:
        notifier.stop()
        outbox.close()
