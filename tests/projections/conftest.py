"""Fixtures for the registration views: views per store (closed at teardown), history seeding."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


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
