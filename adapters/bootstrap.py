"""Composition root: the only place that turns Settings into running objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder

from regledger.adapters.aggregate_cache import AggregateCache, StoreEventReader
from regledger.adapters.auth import TokenStore, build_token_store
from regledger.adapters.bulk import collector_paused
from regledger.adapters.lottery_checkpoints import MemoryCheckpoints, PostgresCheckpoints, SqliteCheckpoints
from regledger.adapters.postgres.event_reader import PostgresEventReader
from regledger.adapters.postgres.notification_reader import PostgresNotificationPages
from regledger.adapters.postgres.wakeup import await_database
from regledger.adapters.program_log_projector import ProgramLogsProjector
from regledger.adapters.program_logs_app import ProgramLogRegistration
from regledger.adapters.projector import Projector, build_views
from regledger.adapters.replica_reads import ReadReplicas, build_read_replicas
from regledger.adapters.settings import Settings
from regledger.adapters.views.postgres import PostgresViews
from regledger.domain.application import Registration
from regledger.domain.runner import utc_now
from regledger.projections.class_change_input import ClassChangeInputFold
from regledger.projections.lottery_input import FoldCheckpoints
from regledger.projections.views import RegistrationViews


@dataclass
class Services:
    settings: Settings
    app: Registration
    views: RegistrationViews
    # One follower of the log, or with a log per program one per table (`program_log_projector`).
    projector: Projector | ProgramLogsProjector
    following: bool
    tokens: TokenStore
    # The HTTP queries' read replicas (REGLEDGER_READ_DATABASE_URL), None without.
    replicas: ReadReplicas | None = None

    def wait_for(self, position: int, timeout: float = 5.0) -> None:
        """Read-your-writes: block until the views include `position`."""
        if self.following:
            self.projector.wait(position, timeout)
        else:
            self.projector.catch_up()

    def close(self) -> None:
        self.projector.stop()
        if self.replicas is not None:
            self.replicas.close()
        self.tokens.close()
        self.views.close()
        self.app.close()


def build_application(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, app_class: type[Registration] | None = None
) -> Registration:
    """The application over the configured store, with its collaborators.

    Commands read their aggregates through an in-process cache refreshed from the log (on
    PostgreSQL in one round trip for all of them), and the lottery's input fold reads log pages
    in binary there. Everywhere: the lottery input fold of the read side
    (checkpointed beside the events: `lottery_checkpoints`), and large computations and saves
    with the cycle collector paused.
    (The recorder and the transcoder are the library's seams: `eventsourcing_env` names them.)"""
    postgres = settings.store == "postgres"
    if app_class is None:  # a log per program saves each program into its own table
        app_class = ProgramLogRegistration if settings.per_program else Registration

    def lottery_inputs(app: Application[UUID]) -> ClassChangeInputFold:
        # The main lottery's fold, which also reads the class-change lottery's input; its
        # checkpoints live beside the events (a cold start folds only the log after one).
        checkpoints: FoldCheckpoints
        if postgres:
            checkpoints = PostgresCheckpoints(cast(PostgresApplicationRecorder, app.recorder).datastore)
        elif settings.store == "sqlite":
            checkpoints = SqliteCheckpoints(settings.sqlite_path)
        else:
            checkpoints = MemoryCheckpoints()
        pages = PostgresNotificationPages(app) if postgres else None
        return ClassChangeInputFold(app, pages, checkpoints, head_of=cast(Registration, app).program_position)

    def aggregates(app: Application[UUID]) -> AggregateCache:
        reader = PostgresEventReader(app) if postgres else StoreEventReader(app.events)
        return AggregateCache(settings.aggregate_cache_size, reader)

    return app_class(
        env=settings.eventsourcing_env(names=[app_class.name]),
        clock=clock,
        aggregates=aggregates,
        lottery_inputs=lottery_inputs,
        bulk_work=collector_paused,
    )


def build(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    follow: bool | None = None,
    wait_for_database: float = 0.0,
) -> Services:
    """Wire the application, the views and their projector.

    `follow` runs the projector on a background thread. It defaults to on for the embedded
    stores (SQLite cannot be subscribed to from another process, and memory lives in this one)
    and off for PostgreSQL, where `regledger project` runs as its own process. `tokens` is the
    configured store's bearer-token table (closed by `close()`). On PostgreSQL, a positive
    `wait_for_database` (seconds, math.inf: forever) first waits for the server to accept a
    connection (`wakeup.await_database`, which raises DatabaseUnreachable when it gives up).
    """
    settings.prepare()
    if settings.store == "postgres" and wait_for_database > 0:
        where = f"{settings.postgres_host}:{settings.postgres_port}"
        await_database(settings.postgres_conninfo(), where, wait_for_database)
    app = build_application(settings, clock=clock)
    views = build_views(settings)
    projector: Projector | ProgramLogsProjector
    if isinstance(app, ProgramLogRegistration) and isinstance(views, PostgresViews):
        projector = ProgramLogsProjector(app, views, conninfo=settings.postgres_conninfo())
        views.reached = projector.reached  # what queries report and /ready measures: every table
    else:
        projector = Projector.for_settings(settings, app, views=views)
    tokens = build_token_store(settings)
    following = follow if follow is not None else settings.store != "postgres"
    replicas = build_read_replicas(settings, views, lambda: app.recorder.max_notification_id() or 0)
    if following:
        projector.start()
    return Services(
        settings=settings,
        app=app,
        views=views,
        projector=projector,
        following=following,
        tokens=tokens,
        replicas=replicas,
    )
