"""The demo's notifications: the notifier follows the season's log into an outbox beside the demo
database (nothing is sent: the demo has no mail server), and the messages are counted by kind."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from regledger.adapters.cli_common import table
from regledger.adapters.notifier.follower import Notifier
from regledger.adapters.notifier.store import SqliteOutbox, outbox_path

if TYPE_CHECKING:
    from rich.console import Console

    from regledger.domain.application import Registration


def notification_round(app: Registration, database: Path, console: Console, *, step: int = 5) -> bool:
    """Write the outbox of the whole log; True when every commit gave a student one message."""
    path = outbox_path(database)
    for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        stale.unlink(missing_ok=True)  # the demo's log is new: so is its outbox
    store = SqliteOutbox(path)
    try:
        with console.status("the notifier follows the log into the outbox..."):
            notifier = Notifier(app, store, from_start=True)
            notifier.catch_up()
        rows = store.list(limit=1_000_000)
    finally:
        store.close()
    kinds = Counter(kind for r in rows for kind in r.kind.split(","))
    statuses = Counter(r.status for r in rows)
    per_commit = Counter((r.position, r.student_id) for r in rows)
    commits = len({r.position for r in rows})
    plural = "" if commits == 1 else "s"
    console.print(
        f"{step}. notifications: {len(rows)} messages from {commits} commit{plural} in {path.name} "
        f"({statuses['no_address']} students without an address are counted, not sent); "
        "`regledger notify run` sends them through REGLEDGER_SMTP_*",
        soft_wrap=True,
    )
    console.print(table("Messages by kind", ["kind", "messages"], sorted(kinds.items())))
    repeated = [key for key, n in per_commit.items() if n > 1]
    if repeated:
        console.print(f"[red]notification check FAILED[/red]: {len(repeated)} students got two messages for a commit")
    return not repeated
