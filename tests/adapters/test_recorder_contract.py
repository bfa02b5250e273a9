"""eventsourcing's own recorder contract tests, run against OUR PostgreSQL recorder.

Why: `adapters/postgres/recorders.py` and `adapters/postgres/small_saves.py` replace the library's save with
their own SQL (one simple-protocol query for small saves, a binary COPY for large ones). The
library ships the tests every application recorder must pass (`eventsourcing.tests.persistence`:
ids in insert order and contiguous, duplicates refused, notifications selected by position and
topic, subscriptions woken by NOTIFY, concurrent writers never interleaving). Running them here
on the recorder our settings name keeps the shortcuts honest to the contract they replace.

How: each `create_recorder` builds the recorder the way the app does, through the library's
factory from `Settings.eventsourcing_env` (so `APPLICATION_RECORDER_TOPIC` picks it), in a
fresh schema of the session's throwaway database (`make_postgres_settings`: created per call,
dropped after the test). The contract runs as configured (small saves in one trip), with every
save forced down the large-save COPY path, and as the library's non-interleaving race at both
sizes; each test also fails unless its saves took the path it is about. The library's
PostgreSQL test module is not in its wheel; as it does there, the pool is widened for the
concurrent tests and its optional subscription test is run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.tests import persistence as contract
from eventsourcing.utils import Environment

from regledger.adapters.postgres import recorders
from regledger.adapters.postgres.recorders import LargeSavePostgresApplicationRecorder
from regledger.adapters.postgres.small_saves import OneTripInsert
from regledger.adapters.settings import Settings
from regledger.domain.application import Registration

pytestmark = [pytest.mark.postgres]


class OurRecorder:
    """Mixin: `create_recorder` returns the app's recorder class on a fresh schema, and the
    test fails unless every save it made took `path` ("small": one trip, "large": COPY)."""

    path = "small"
    make_settings: Callable[[], Settings]
    factories: list[InfrastructureFactory[Any]]

    @pytest.fixture(autouse=True)
    def _throwaway_schemas(self, make_postgres_settings: Callable[[], Settings]) -> Any:
        self.make_settings = make_postgres_settings
        self.factories = []
        yield
        # Pools (and a subscription's LISTEN connection) go before the schemas are dropped.
        while self.factories:
            self.factories.pop().close()

    def create_recorder(self) -> LargeSavePostgresApplicationRecorder:
        env = self.make_settings().eventsourcing_env(names=[Registration.name])
        factory = InfrastructureFactory.construct(Environment(Registration.name, env))
        self.factories.append(factory)
        recorder = factory.application_recorder()
        assert type(recorder) is LargeSavePostgresApplicationRecorder
        assert not recorder.datastore.enable_db_functions
        assert isinstance(recorder.one_trip, OneTripInsert)
        self._watch_paths(recorder)
        return recorder

    def _watch_paths(self, recorder: LargeSavePostgresApplicationRecorder) -> None:
        saves: list[int] = []
        taken: list[str] = []

        def watched(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                if name == "save":
                    saves.extend([1] if args[0] else [])
                else:
                    taken.append(name)
                return method(*args, **kwargs)

            return call

        recorder.insert_events = watched("save", recorder.insert_events)  # type: ignore[method-assign]
        recorder._insert_small = watched("small", recorder._insert_small)  # type: ignore[method-assign]
        recorder._insert_large = watched("large", recorder._insert_large)  # type: ignore[method-assign]

        def check() -> None:
            assert saves, "the contract test saved nothing"
            assert taken == [self.path] * len(saves)

        self.addCleanup(check)  # type: ignore[attr-defined]


class TestOurApplicationRecorder(
    OurRecorder, contract.ApplicationRecorderTestCase[LargeSavePostgresApplicationRecorder]
):
    """The contract as configured: every save here is small, so it goes in one trip."""

    def test_insert_subscribe(self) -> None:
        # A subscription LISTENs on its own connection while the test writes on another.
        with self._widened(2):
            self.optional_test_insert_subscribe()

    def test_concurrent_no_conflicts(self) -> None:  # type: ignore[override]
        # 10 writers and 2 readers at once, as the library's own PostgreSQL test sizes it.
        with self._widened(12):
            super().test_concurrent_no_conflicts()

    def test_concurrent_throughput(self) -> None:
        with self._widened(10):
            super().test_concurrent_throughput()

    def _widened(self, size: int) -> Any:
        real = self.create_recorder

        def create() -> LargeSavePostgresApplicationRecorder:
            recorder = real()
            recorder.datastore.pool.resize(size, size)
            return recorder

        return mock.patch.object(self, "create_recorder", create)


class TestOurApplicationRecorderLargeSaves(TestOurApplicationRecorder):
    """The same contract with every save taken as large: one binary COPY under the table lock."""

    path = "large"

    def setUp(self) -> None:
        super().setUp()
        patcher = mock.patch.object(recorders, "PIPELINE_MAX_EVENTS", 0)
        patcher.start()
        self.addCleanup(patcher.stop)


class TestOurRecorderDoesNotInterleaveSmallSaves(OurRecorder, contract.NonInterleavingNotificationIDsBaseCase):
    """Two concurrent saves of `PIPELINE_MAX_EVENTS` events each (the most one trip takes) get
    two separate runs of ids: the table lock orders whole saves."""

    insert_num = recorders.PIPELINE_MAX_EVENTS


class TestOurRecorderDoesNotInterleaveLargeSaves(OurRecorder, contract.NonInterleavingNotificationIDsBaseCase):
    """The same race between two large saves (COPY): their ids are read back, never guessed."""

    path = "large"
    insert_num = 3 * recorders.PIPELINE_MAX_EVENTS
