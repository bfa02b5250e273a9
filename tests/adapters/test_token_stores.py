"""TokenStore.create_many and list on every store: one transaction, filters and pages."""

from __future__ import annotations

import itertools

import pytest

from regledger.adapters import auth
from regledger.adapters.auth import build_token_store
from regledger.domain.errors import InvalidInputError


@pytest.fixture
def store(store_settings):
    built = build_token_store(store_settings)
    yield built
    built.close()


def test_a_batch_is_stored_whole_and_each_token_acts_for_its_subject(store):
    batch = store.create_many("student", ["splash/a", "splash/b", "hssp/a"], actor="admin:t")

    assert [t.record.subject for t in batch.tokens] == ["splash/a", "splash/b", "hssp/a"]
    assert batch.revoked == []
    for issued in batch.tokens:
        principal = store.lookup(issued.token)
        assert principal is not None
        assert principal.subject == issued.record.subject
    assert len(store.list()) == 3


@pytest.mark.parametrize(
    "subjects",
    [["splash/a", "splash/bad key"], ["splash/a", "splash/a"], ["splash/a", "nokey"], []],
    ids=["bad-key", "repeated", "no-slash", "empty"],
)
def test_a_batch_with_one_bad_subject_stores_nothing(store, subjects):
    with pytest.raises(InvalidInputError):
        store.create_many("student", subjects)

    assert store.list() == []


def test_a_batch_larger_than_the_bound_is_refused(store, monkeypatch):
    monkeypatch.setattr(auth, "MAX_BATCH", 3)

    with pytest.raises(InvalidInputError, match="1 to 3"):
        store.create_many("student", [f"splash/s{i}" for i in range(4)])
    assert store.list() == []


@pytest.mark.parametrize(
    "store_settings",
    ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_batch_failing_in_the_database_rolls_back_every_row_and_revocation(store, monkeypatch):
    earlier = store.create("student", "splash/a")
    ids = itertools.chain(["1111111111111111", "1111111111111111"], itertools.repeat("2222222222222222"))
    monkeypatch.setattr(auth.secrets, "token_hex", lambda _n: next(ids))  # the second insert collides

    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        store.create_many("student", ["splash/a", "splash/b"], revoke_existing=True)

    assert [r.subject for r in store.list()] == ["splash/a"]
    assert store.lookup(earlier) is not None  # its revocation was rolled back too


def test_list_filters_by_role_program_and_state_and_pages_in_creation_order(store):
    store.create("admin", "alice")
    batch = store.create_many("student", [f"splash/s{i}" for i in range(5)])
    store.create("student", "hssp/s1")
    store.revoke(batch.tokens[0].record.token_id)

    everything = store.list()
    pages = [store.list(offset=offset, limit=3) for offset in (0, 3, 6)]

    assert [r.token_id for page in pages for r in page] == [r.token_id for r in everything]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [r.subject for r in store.list(role="admin")] == ["alice"]
    assert sorted(r.subject for r in store.list(program="splash")) == [f"splash/s{i}" for i in range(5)]
    assert [r.subject for r in store.list(program="splash", active=False)] == ["splash/s0"]
    assert len(store.list(active=True)) == 6
    assert store.list(program="spl") == []  # a slug, not a prefix of one
