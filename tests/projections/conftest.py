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


def load_history_module() -> ModuleType:
    path = Path(__file__).with_name("history.py")
    spec = importlib.util.spec_from_file_location("regledger_test_history", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def history() -> ModuleType:
    return load_history_module()


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
