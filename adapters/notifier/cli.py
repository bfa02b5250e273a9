"""`regledger notify run` (follow the log into the outbox and send) and `regledger notify outbox`."""

from __future__ import annotations

import logging
import math
import signal
import threading
from typing import Annotated

import typer

from regledger.adapters.bootstrap import build_application
from regledger.adapters.cli_common import console, err_console
from regledger.adapters.cli_output import Column, FormatOption, Listing, OutputFormat, cols, emit
from regledger.adapters.notifier.program_logs import follower_for
from regledger.adapters.notifier.sender import Sender
from regledger.adapters.notifier.store import EMAIL, STATUSES, WEBHOOK, OutboxStore, open_outbox
from regledger.adapters.postgres.wakeup import DatabaseUnreachable, await_database
from regledger.adapters.settings import Settings
from regledger.domain.runner import utc_now

notify_cli = typer.Typer(no_args_is_help=True, help="Notifications: the outbox the notifier writes and sends.")


def _stores(settings: Settings) -> tuple[OutboxStore, OutboxStore]:
    """The follower's store and the sender's (one connection each; memory: one database)."""
    first = open_outbox(settings)
    return first, (first if settings.store == "memory" else open_outbox(settings))


@notify_cli.command("run")
def run(
    once: bool = typer.Option(False, "--once", help="Catch up with the log, send what is due, and stop."),
    send: bool = typer.Option(True, "--send/--no-send", help="Send (SMTP, webhook) or only write the outbox."),
    from_start: bool = typer.Option(
        False,
        "--from-start",
        help="On the first run, mail about the whole log (default: only events after the first run's start).",
    ),
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="Events read a batch (whole commits)."),
    wait_for_database: float = typer.Option(math.inf, "--wait-for-database", metavar="SECONDS"),
) -> None:
    """Follow the log into the outbox (exactly once) and send it (run beside `regledger project`)."""
    for name in ("regledger.notifier", "regledger.database"):
        logging.getLogger(name).setLevel(logging.INFO)  # outages, recoveries, messages failed for good
    settings = Settings()
    if settings.store == "postgres" and wait_for_database > 0:
        try:
            await_database(settings.postgres_conninfo(), settings.postgres_host, wait_for_database)
        except DatabaseUnreachable as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
    settings.prepare()
    app = build_application(settings)
    follow_store, send_store = _stores(settings)
    channels = (EMAIL, WEBHOOK) if settings.webhook_url else (EMAIL,)
    notifier = follower_for(app, follow_store, channels=channels, batch_size=batch_size, from_start=from_start)
    sender = Sender.for_settings(settings, send_store)
    if send and not sender.transports:
        err_console.print("no REGLEDGER_SMTP_HOST or REGLEDGER_WEBHOOK_URL: messages stay pending in the outbox")
    sending = send and bool(sender.transports)
    try:
        if once:
            read = notifier.catch_up()
            report = sender.send_due() if sending else None
            console.print(f"outbox at position {notifier.position} ({read} events read, {notifier.messages} messages)")
            if report is not None:
                unreachable = "; a server was unreachable" if report.unreachable else ""
                console.print(f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}{unreachable}")
            return
        thread = threading.Thread(target=sender.run_forever, name="regledger-sender", daemon=True)

        def stop(_signum: int, _frame: object) -> None:
            notifier.stop()
            sender.stop()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, stop)
        if sending:
            thread.start()
        err_console.print("following the log into the outbox (Ctrl-C or SIGTERM to stop)")
        notifier.run_forever()
        sender.stop()
        if sending:
            thread.join(timeout=30)
        err_console.print(f"stopped at position {notifier.position}")
    finally:
        sender.close()
        follow_store.close()
        if send_store is not follow_store:
            send_store.close()
        app.close()


# The table keeps to what an operator scans for; JSON and CSV hold every column.
OUTBOX_COLUMNS = cols(
    "position",
    Column("student_id", in_table=False),
    "student_key:student",
    "channel",
    "recipient",
    "kind",
    Column("subject", in_table=False),
    "status",
    "attempts",
    "last_error:last error",
    Column("created_at", in_table=False),
    Column("next_attempt_at", in_table=False),
    "sent_at:sent",
    Column("message_id", in_table=False),
)


@notify_cli.command("outbox")
def outbox(
    status: Annotated[str | None, typer.Option("--status", help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    limit: int = typer.Option(100, "--limit", min=1, max=10_000),
    offset: int = typer.Option(0, "--offset", min=0, max=1_000_000_000),
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The outbox: each message, its recipient, kind, status, attempts and last error."""
    if status is not None and status not in STATUSES:
        err_console.print(f"[red]error:[/red] --status must be one of {', '.join(STATUSES)}", highlight=False)
        raise typer.Exit(2)
    settings = Settings()
    store = open_outbox(settings)
    try:
        store.create_tables()
        rows = store.list(status=status, limit=limit, offset=offset)
        counts = store.counts()
    finally:
        store.close()
    listing = Listing(
        "outbox" + (f" ({status})" if status else ""),
        OUTBOX_COLUMNS,
        [
            [
                r.position,
                r.student_id,
                r.student_key,
                r.channel,
                r.recipient,
                r.kind,
                r.subject,
                r.status,
                r.attempts,
                r.last_error,
                r.created_at,
                r.next_attempt_at,
                r.sent_at,
                r.message_id,
            ]
            for r in rows
        ],
        caption=", ".join(f"{k} {v}" for k, v in counts.items()),
        items="messages",
        about={"counts": counts},
    )
    emit(listing, fmt)


@notify_cli.command("retry-failed")
def retry_failed() -> None:
    """Make every failed message due again (attempts from 0); the next send round tries them."""
    store = open_outbox(Settings())
    try:
        store.create_tables()
        count = store.requeue_failed(utc_now())
    finally:
        store.close()
    console.print(f"{count} failed messages are pending again")
