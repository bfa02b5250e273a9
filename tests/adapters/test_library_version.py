"""The storage shortcuts refuse to load against an eventsourcing they were not checked against."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import tomllib
from pathlib import Path

import pytest

from regledger.adapters.postgres import library_version
from regledger.adapters.postgres.library_version import EXPECTED_EVENTSOURCING, check_eventsourcing_version

ROOT = Path(__file__).resolve().parents[2]
SHORTCUTS = ROOT / "adapters" / "postgres"


def fake_version(monkeypatch: pytest.MonkeyPatch, found: str | None) -> None:
    def version(name: str) -> str:
        assert name == "eventsourcing"
        if found is None:
            raise importlib.metadata.PackageNotFoundError(name)
        return found

    monkeypatch.setattr(importlib.metadata, "version", version)


def test_the_installed_library_is_the_expected_one():
    assert importlib.metadata.version("eventsourcing") == EXPECTED_EVENTSOURCING
    check_eventsourcing_version()


def test_the_pin_in_pyproject_is_the_expected_version():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"eventsourcing=={EXPECTED_EVENTSOURCING}" in dependencies


def test_the_expected_version_passes_whatever_the_argument_says():
    check_eventsourcing_version("9.5.6", expected="9.5.6")
    check_eventsourcing_version(EXPECTED_EVENTSOURCING)


def test_another_version_is_refused_naming_both_and_what_to_do():
    with pytest.raises(RuntimeError) as raised:
        check_eventsourcing_version("9.6.0", expected="9.5.6")
    message = str(raised.value)
    assert "9.6.0" in message
    assert "9.5.6" in message
    for what_to_do in ("small_saves.py", "recorders.py", "EXPECTED_EVENTSOURCING", "eventsourcing==9.5.6"):
        assert what_to_do in message


def test_the_installed_version_is_read_when_none_is_given(monkeypatch):
    fake_version(monkeypatch, "10.0.0")
    with pytest.raises(RuntimeError, match=r"eventsourcing has version 10\.0\.0"):
        check_eventsourcing_version()
    fake_version(monkeypatch, EXPECTED_EVENTSOURCING)
    check_eventsourcing_version()


def test_a_library_not_installed_as_a_distribution_is_refused(monkeypatch):
    fake_version(monkeypatch, None)
    assert library_version.installed_eventsourcing() is None
    with pytest.raises(RuntimeError, match="eventsourcing has no installed version"):
        check_eventsourcing_version()


@pytest.mark.parametrize("module", ["small_saves", "recorders"])
def test_importing_a_shortcut_module_checks_the_version(monkeypatch, module):
    def load() -> None:
        # A fresh copy of the module, never put in sys.modules: the real one stays as it is.
        spec = importlib.util.spec_from_file_location(f"_version_check_{module}", SHORTCUTS / f"{module}.py")
        assert spec is not None
        assert spec.loader is not None
        spec.loader.exec_module(importlib.util.module_from_spec(spec))

    load()
    fake_version(monkeypatch, "9.5.7")
    with pytest.raises(RuntimeError, match=r"9\.5\.7"):
        load()
