"""Token lookups are cached for up to a second; a revocation through the same store is immediate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from regledger.adapters.auth import TokenStore, build_token_store
from regledger.adapters.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
)
def two_stores(request: pytest.FixtureRequest) -> Iterator[tuple[TokenStore, TokenStore, Clock]]:
    """Two stores on one table (two API processes, or the API and the CLI); the first's clock is ours."""
    settings: Settings = request.getfixturevalue(f"{request.param}_settings")
    first, second = build_token_store(settings), build_token_store(settings)
    clock = Clock()
    first.clock = clock
    yield first, second, clock
    first.close()
    second.close()


def test_a_revocation_elsewhere_takes_effect_within_the_cache_ttl(two_stores):
    api, cli, clock = two_stores
    token = cli.create("student", "splash/ada")
    assert api.lookup(token) is not None
    assert cli.revoke(token)
    clock.now += 0.5
    assert api.lookup(token) is not None  # answered from the cache: no query
    clock.now += 0.6
    assert api.lookup(token) is None


def test_a_revocation_through_the_same_store_is_immediate(two_stores):
    api, _, _ = two_stores
    token = api.create("admin", "alice")
    assert api.lookup(token) is not None
    assert api.revoke(token)
    assert api.lookup(token) is None


def test_an_unknown_token_is_cached_too_and_a_wrong_secret_never_passes(two_stores):
    api, cli, clock = two_stores
    token = cli.create("admin", "alice")
    token_id = token.partition(".")[0]
    assert api.lookup(f"{token_id}.wrong-secret") is None
    assert api.lookup(token) is not None  # the cached row is checked against each secret
    assert api.lookup(f"{token_id}.wrong-secret") is None
    missing = "rl_0123456789abcdef.secret"
    assert api.lookup(missing) is None
    clock.now += 1.1
    assert api.lookup(missing) is None


def test_the_cache_alone_answers_only_for_a_token_it_holds_as_valid(two_stores):
    api, cli, clock = two_stores
    token = cli.create("student", "splash/ada")
    assert api.cached_principal(token) is None  # not read yet: the store must be asked
    assert api.lookup(token) is not None
    cached = api.cached_principal(token)
    assert cached is not None
    assert (cached.role, cached.subject) == ("student", "splash/ada")
    token_id, secret = token.split(".", 1)
    assert api.cached_principal(f"{token_id}.{secret[:-1]}x") is None  # a wrong secret
    assert api.cached_principal("garbage") is None
    assert cli.revoke(token)
    clock.now += 1.5  # past the TTL: the cache no longer answers
    assert api.cached_principal(token) is None
    assert api.lookup(token) is None
    assert api.cached_principal(token) is None  # cached as revoked
