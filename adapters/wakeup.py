"""The projector's wakeup on PostgreSQL: LISTEN on the events table's channel."""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

logger = logging.getLogger("regledger.projector")


class PostgresWakeup:
    """LISTEN on the events table's channel; `wait` returns on a NOTIFY or after `timeout`."""

    def __init__(self, conninfo: str, channel: str) -> None:
        self.conninfo = conninfo
        self.channel = channel
        self._conn: psycopg.Connection[Any] | None = None

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Return on the first NOTIFY (or one already queued) or after `timeout`; no fixed sleep."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.conninfo, autocommit=True)
                self._conn.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(self.channel)))
                return  # a NOTIFY may have been missed while connecting: read once more first
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.OperationalError:
            logger.warning("LISTEN connection lost; polling until it is back", exc_info=True)
            self.close()
            stop.wait(timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
