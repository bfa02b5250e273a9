"""The registration views on PostgreSQL (tables in the settings' schema)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import fields, replace
from typing import Any, cast

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from regledger.adapters.postgres.wakeup import dropped
from regledger.adapters.views.schema import DEFERRED_INDEXES, INTERVALS, TABLES
from regledger.adapters.views.sql import Cursor, Dialect, SqlViews
from regledger.adapters.views.tables import Table
from regledger.adapters.views.writes import ADVANCE, Write, advance_params
from regledger.projections.changes import Batch, ViewChange
from regledger.projections.netting import net
from regledger.projections.views import PositionAlreadyApplied, RegistrationViews

logger = logging.getLogger("regledger.projector")

# Where a rebuild builds its tables before they are swapped in: `<prefix>rebuild_<table>`.
ASIDE = "rebuild_"

# The conditional advance, failing (division by zero) when it moved nothing: the transaction is
# then aborted in the server, so the batch's writes follow it in the same round trip instead of
# waiting for its row count.
CHECKED_ADVANCE = f"WITH advanced AS ({ADVANCE} RETURNING 1) SELECT 1 / COUNT(*) FROM advanced"  # noqa: S608 - fixed

POSTGRES = Dialect(
    name="postgres",
    placeholder="%s",
    # `{binary}`: compare text by its bytes, as SQLite does (not by the database's locale).
    types={"uuid": "uuid", "ts": "timestamptz", "bool": "boolean", "binary": ' COLLATE "C"'},
    encode=lambda v: v,
)


def unstorable(error: BaseException) -> bool:
    """PostgreSQL text cannot hold NUL: psycopg refuses to send it as text, the server refuses it
    in binary (22021); events written before commands refused it may carry it."""
    return isinstance(error, psycopg.errors.CharacterNotInRepertoire | psycopg.errors.UntranslatableCharacter) or (
        isinstance(error, psycopg.DataError) and "NUL (0x00)" in str(error)
    )


def escaped(batch: Batch) -> tuple[Batch, list[int]]:
    """`batch` with every NUL in its text replaced by U+FFFD, and the positions of the events
    whose changes that touched. Deterministic, so a rebuild stores the same rows."""
    changes: list[tuple[int, int, ViewChange]] = []
    positions: set[int] = set()
    for position, seq, change in batch.changes:
        edits = {
            f.name: value.replace("\x00", "\ufffd")
            for f in fields(change)
            if isinstance(value := getattr(change, f.name), str) and "\x00" in value
        }
        if edits:
            positions.add(position)
            change = replace(cast(Any, change), **edits)  # noqa: PLW2901 - the escaped change replaces it
        changes.append((position, seq, change))
    return replace(batch, changes=changes), sorted(positions)


def optimize_statements() -> list[str]:
    """After a bulk load, costliest first: the intervals' index builds (widest first), the
    intervals' VACUUM ANALYZE (blocked until those builds end, so the other connection moves on
    meanwhile), then the other tables. Tables with declared `statistics` columns gather only
    those: half the cost of a whole-table ANALYZE."""
    intervals = sorted((i for t, i in DEFERRED_INDEXES if t is INTERVALS), key=lambda i: -len(i.columns))
    others = [i.ddl(t.name) for t, i in DEFERRED_INDEXES if t is not INTERVALS]

    def vacuum(table: Table) -> str:
        columns = f" ({', '.join(table.statistics)})" if table.statistics else ""
        return f"VACUUM (ANALYZE) {{p}}{table.name}{columns}"

    return [
        *(i.ddl(INTERVALS.name) for i in intervals),
        vacuum(INTERVALS),
        *others,
        *(vacuum(t) for t in TABLES if t is not INTERVALS),
    ]


class PostgresViews(SqlViews):
    """One writer connection (the projector's); queries on one connection per thread.

    The writer sets synchronous_commit=off: a crash may lose the last view commits, but the
    tracking position is lost with them, so they are simply applied again (still exactly once).
    A write transaction is one pipeline, one round trip: BEGIN, the checked tracking update, the
    batch's statements and COMMIT (up to `pipeline_max_changes`; larger batches, a dozen
    statements of many rows each, are sent one statement at a time).

    Queries: each of the first `pool_size` threads that reads keeps its own autocommit
    connection, so its prepared statements (`prepare=True`) stay prepared; further threads
    borrow from a small shared pool.
    """

    # Above this, a batch's statements are not pipelined: ~250 B a change, so at most ~2 MB
    # (psycopg 3.3.9's pipeline hangs from ~8 MB; recorders.py keeps saves under ~1 MB). 8,000
    # since every event also makes an audit row: a rebuild's batch of 2,000 ids has ~4,500.
    pipeline_max_changes = 8000

    def __init__(self, conninfo: str, schema: str, *, prefix: str = "rv_", pool_size: int = 4) -> None:
        super().__init__(POSTGRES, qualified_prefix=f'"{schema}".{prefix}', prefix=prefix)
        self.conninfo = conninfo
        self.schema = schema
        self.pool_size = pool_size
        self._writer: psycopg.Connection[Any] | None = None
        self._local = threading.local()
        self._readers: list[psycopg.Connection[Any]] = []
        self._readers_lock = threading.Lock()
        self._pool: ConnectionPool | None = None
        self.pool_wait = 30.0  # seconds a read waits for a shared connection (psycopg_pool's default)
        self._binary: dict[str, str] = {}
        self.reached: Callable[[], int] | None = None

    def _connection(self) -> psycopg.Connection[Any]:
        if self._writer is not None and dropped(self._writer):
            self._writer.close()  # else its next batch fails: one more outage after this one
        if self._writer is None or self._writer.closed or self._writer.broken:
            self._writer = psycopg.connect(self.conninfo, autocommit=True)
            self._writer.execute("SET synchronous_commit = off")
            # Replan the set-based writes each time: a generic plan made while the tables were
            # small (early in a rebuild) would keep scanning them whole as they grow.
            self._writer.execute("SET plan_cache_mode = force_custom_plan")
            # The writes' updates and deletes join a batch's rows to the rows they name by
            # ctid (`writes._located`): one TID lookup each. Without statistics (a rebuild's
            # tables) the planner hashed the whole table instead once a batch named a hundred
            # rows: 7 ms against 0.5 for 230 closes at 46k intervals, and growing with the table.
            # This connection runs only those writes, so joins are nested loops here.
            self._writer.execute("SET enable_hashjoin = off")
            self._writer.execute("SET enable_mergejoin = off")
        return self._writer

    @contextmanager
    def _transaction(self, changes: int = 0) -> Iterator[Cursor]:
        conn = self._connection()
        if changes > self.pipeline_max_changes:
            # A large batch's few statements carry megabytes: send them one by one (psycopg
            # 3.3.9's pipeline can deadlock above ~8 MB of unflushed data; see recorders.py).
            with conn.transaction(), conn.cursor() as cur:
                yield cur
            return
        with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
            yield cur

    def _lock_ddl(self, cur: Cursor) -> None:
        # Concurrent CREATE ... IF NOT EXISTS can fail with "tuple concurrently updated".
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self._ddl_key(),))
        # Consumed now: in a pipeline, a later fetch on this cursor would read this result first.
        cur.fetchall()

    def _ddl_key(self) -> str:
        return f"regledger.views:{self.schema}.{self.prefix}"

    def apply(self, batch: Batch) -> None:
        try:
            with self._refusals(batch):
                super().apply(batch)
        except psycopg.Error as exc:
            if not unstorable(exc):
                raise
            self._apply_escaped(batch, exc)

    def _apply_escaped(self, batch: Batch, error: BaseException) -> None:
        """Apply again (the failed transaction rolled back whole) with NUL escaped, so one poison
        event neither stops the projector nor makes it retry forever; only on that failure, so
        the usual batch pays nothing."""
        fixed, positions = escaped(batch)
        if not positions:
            raise error
        logger.warning(
            "event(s) at position(s) %s carry text PostgreSQL cannot store (NUL); stored with U+FFFD in its place: %s",
            ", ".join(map(str, positions)),
            " ".join(str(error).split()),
        )
        with self._refusals(fixed):
            super().apply(fixed)

    @contextmanager
    def _refusals(self, batch: Batch) -> Iterator[None]:
        try:
            yield
        except psycopg.errors.DivisionByZero:  # CHECKED_ADVANCE refused the batch
            raise PositionAlreadyApplied(batch.position, super().position()) from None

    def _advance(self, cur: Cursor, batch: Batch) -> None:
        cur.execute(self.sql(CHECKED_ADVANCE), advance_params(batch, self.tracking_name))

    def apply_all(self, batches: Iterable[Batch]) -> Iterator[Batch]:
        """Write-behind by one batch: a batch's statements are sent (pipelined, in its open
        transaction) before the next batch is taken, and COMMIT and the replies are awaited
        after. So PostgreSQL executes the writes while the caller reads and folds the next
        batch, on one thread (a writer thread would wait for the GIL at every reply). Exactly
        once holds as in `apply`: one transaction per batch with its checked tracking update,
        committed in order, and a refusal raised before the next batch is sent."""
        sent: tuple[Batch, ExitStack] | None = None
        try:
            for batch in batches:
                if sent is not None:
                    done, sent = self._confirm(*sent), None
                    yield done
                if len(batch.changes) > self.pipeline_max_changes:
                    self.apply(batch)
                    yield batch
                    continue
                try:
                    sent = (batch, self._send(batch))
                except psycopg.Error as exc:
                    if not unstorable(exc):
                        raise
                    self._apply_escaped(batch, exc)
                    yield batch
            if sent is not None:
                done, sent = self._confirm(*sent), None
                yield done
        finally:
            if sent is not None:  # taking the next batch failed: the sent one is whole, commit it
                sent[1].close()

    def _send(self, batch: Batch) -> ExitStack:
        netted = net(batch)
        stack = ExitStack()
        try:
            stack.enter_context(self._refusals(batch))  # outermost: after the rollback
            conn = self._connection()
            stack.enter_context(conn.pipeline())
            stack.enter_context(conn.transaction())
            cur = stack.enter_context(conn.cursor())
            self._advance(cur, batch)
            self._write_net(cur, netted)
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)  # rolls the transaction back
            raise
        return stack

    def _confirm(self, batch: Batch, stack: ExitStack) -> Batch:
        try:
            stack.close()  # COMMIT, then wait for every reply
        except psycopg.Error as exc:
            if not unstorable(exc):
                raise
            self._apply_escaped(batch, exc)  # rolled back; nothing after it was sent yet
        return batch

    def _bulk(self, cur: Cursor, write: Write, rows: list[tuple[Any, ...]]) -> None:
        """All rows in one statement: one array per column, joined with `unnest`.

        A column of NULLs only is sent as a NULL array: `unnest` of several arrays pads the
        shorter ones with NULLs, and the driver then neither scans nor dumps it (of an interval's
        19 columns, the 7 its close fills are mostly NULL)."""
        count = len(rows)
        columns = [None if column.count(None) == count else list(column) for column in zip(*rows, strict=True)]
        statement = self._binary.get(write.set_sql)
        if statement is None:  # binary arrays: dumping them as text costs ~10x more client CPU
            statement = self._binary[write.set_sql] = self.sql(write.set_sql).replace("%s", "%b")
        cast(psycopg.Cursor[Any], cur).execute(statement, columns, prepare=True)

    def optimize(self) -> None:
        """Create the deferred indexes, then VACUUM and ANALYZE every view table: statistics for
        the planner and a visibility map, so the covering indexes give index-only scans at once.

        Two connections (the projector waits meanwhile, so the server has both cores) take the
        statements from one queue, costliest first (`optimize_statements`). Builds of one
        table's indexes run side by side; VACUUM of a table waits for them (its lock conflicts
        with CREATE INDEX), and meanwhile the other connection goes on with other tables."""
        statements = optimize_statements()
        lock = threading.Lock()

        def work() -> None:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                # Shared by both workers, exclusive of `create_tables` in other processes.
                conn.execute("SELECT pg_advisory_lock_shared(hashtext(%s))", (self._ddl_key(),))
                while True:
                    with lock:
                        statement = statements.pop(0) if statements else None
                    if statement is None:
                        return
                    conn.execute(self.sql(statement))

        with ThreadPoolExecutor(2, thread_name_prefix="regledger-optimize") as pool:
            for done in [pool.submit(work) for _ in range(2)]:
                done.result()

    # -- reads ----------------------------------------------------------------------------

    def _reader(self) -> psycopg.Connection[Any] | None:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is not None and not conn.closed:
            return conn
        with self._readers_lock:
            self._readers = [c for c in self._readers if not c.closed]
            if len(self._readers) >= self.pool_size:
                return None
            conn = psycopg.connect(self.conninfo, autocommit=True)
            self._readers.append(conn)
        self._local.conn = conn
        return conn

    def _shared_pool(self) -> ConnectionPool:
        with self._readers_lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self.conninfo,
                    min_size=0,
                    max_size=self.pool_size,
                    kwargs={"autocommit": True},
                    open=True,
                    # A connection that died idle (a restart, a terminated backend) is replaced
                    # before it is lent, not found dead by the query.
                    check=ConnectionPool.check_connection,
                    timeout=self.pool_wait,
                )
            return self._pool

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._query_once(statement, params)
        except psycopg.OperationalError:
            # This thread's connection died idle (closed by `_query_once`): a read can run
            # again, once, on a new one.
            return self._query_once(statement, params)

    def _query_once(self, statement: str, params: Sequence[Any]) -> list[Any]:
        conn = self._reader()
        if conn is None:
            with self._shared_pool().connection() as pooled:
                return pooled.execute(statement, params, prepare=True).fetchall()
        try:
            return conn.execute(statement, params, prepare=True).fetchall()
        except psycopg.OperationalError:
            conn.close()  # reconnect on the next query
            raise

    # -- rebuilding aside -----------------------------------------------------------------

    def position(self) -> int:
        """The tracking row's position; with a log per program, what `reached` answers: every
        table's views reach it (set by the composition root, `program_log_projector`)."""
        return self.reached() if self.reached is not None else super().position()

    def for_log(self, tracking_name: str) -> PostgresViews:
        """The same tables, advancing another tracking row: the follower of one of several logs."""
        other = PostgresViews(self.conninfo, self.schema, prefix=self.prefix, pool_size=1)
        other.tracking_name = tracking_name
        return other

    def aside(self) -> PostgresViews:
        """Views beside these (`<prefix>rebuild_` tables) for a rebuild to fill, then `swap_in`."""
        other = PostgresViews(self.conninfo, self.schema, prefix=self.prefix + ASIDE, pool_size=1)
        other.pipeline_max_changes = self.pipeline_max_changes
        return other

    def swap_in(self, aside: RegistrationViews) -> None:
        """Replace these tables by `aside`'s, in one transaction: drop these, rename those and
        their indexes (constraints follow their index) to these names."""
        assert isinstance(aside, PostgresViews)
        live = [self.prefix + table.name for table in TABLES]
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            self._lock_ddl(cur)
            for table in TABLES:
                cur.execute(self.sql(f"DROP TABLE IF EXISTS {{p}}{table.name}"))
                cur.execute(
                    sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                        sql.Identifier(self.schema, aside.prefix + table.name), sql.Identifier(self.prefix + table.name)
                    )
                )
            cur.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = ANY(%s)", (self.schema, live)
            )
            for (name,) in cur.fetchall():
                if name.startswith(aside.prefix):
                    cur.execute(
                        sql.SQL("ALTER INDEX {} RENAME TO {}").format(
                            sql.Identifier(self.schema, name), sql.Identifier(self.prefix + name[len(aside.prefix) :])
                        )
                    )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
            if self._pool is not None:
                self._pool.close()
                self._pool = None
