"""Fixtures for the registration views: views per store (closed at teardown), history seeding."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from regledger.adapters.projector import build_views
from regledger.adapters.settings import Settings
from regledger.projections.views import RegistrationViews

MakeViews = Callable[..., RegistrationViews]


def load_sibling(name: str) -> ModuleType:
    """A module beside this file, by path (tests have no packages)."""
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"regledger_test_{name}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def history() -> ModuleType:
    return load_sibling("history")


@pytest.fixture(scope="session")
def per_change() -> ModuleType:
    """The oracle of the set-based writers (`per_change.PerChangeViews`)."""
    return load_sibling("per_change")


@pytest.fixture
def make_views() -> Iterator[MakeViews]:
    """make_views(settings, prefix="rv_") -> fresh (dropped and recreated) views for the store."""
    opened: list[RegistrationViews] = []

    def make(settings: Settings, prefix: str = "rv_", fresh: bool = True) -> RegistrationViews:
        views = build_views(settings, prefix=prefix)
        if fresh:
            views.drop_tables()
            views.create_tables()
        opened.append(views)
        return views

    yield make
    for views in opened:
        views.close()
