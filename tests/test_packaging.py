"""The wheel holds every package under one `regledger` namespace and imports without the repo."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE_ROOTS = ("domain", "projections", "adapters")
TOP_LEVEL_SKIP = {".git", ".venv", "build", "dist", "var", "tests", "bench", "docs"}

IMPORT_PROBE = """
import importlib, json, sys
site, venv_site, modules = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
# The stdlib stays; everything else (repo root, the editable link farm, .pth additions) goes.
stdlib = [p for p in sys.path if p.startswith(sys.base_prefix) and "-packages" not in p]
sys.path[:] = [site, venv_site, *stdlib]
failed = {}
for name in modules:
    try:
        module = importlib.import_module(name)
        if not module.__file__.startswith(site):
            failed[name] = "imported from " + module.__file__
    except Exception as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
for bare in ("domain", "projections", "adapters"):
    try:
        importlib.import_module(bare)
        failed[bare] = "bare top-level package is importable"
    except ModuleNotFoundError:
        pass
print(json.dumps(failed))
"""


def _packages_on_disk() -> set[str]:
    """Every folder with an __init__.py under the three roots, as a regledger.* name."""
    found = {"regledger"}
    for root in PACKAGE_ROOTS:
        for init in (REPO / root).rglob("__init__.py"):
            relative = init.parent.relative_to(REPO)
            found.add(".".join(("regledger", *relative.parts)))
    return found


def _skip_non_sources(folder: str, names: list[str]) -> set[str]:
    skip = {n for n in names if n == "__pycache__" or n.endswith((".egg-info", "_cache"))}
    return skip | (TOP_LEVEL_SKIP & set(names) if Path(folder) == REPO else set())


def _run(*args: str | Path, cwd: Path | None = None) -> None:
    result = subprocess.run([str(arg) for arg in args], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Build from a copy: setuptools writes build/ and *.egg-info into the source tree, and the
    # repo's build/ holds the strict editable install's link farm.
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=_skip_non_sources)
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp / "dist", source)
    (built,) = (tmp / "dist").glob("regledger-*.whl")
    return built


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_pyproject_lists_every_package_folder():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])

    missing = sorted(_packages_on_disk() - listed)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


@pytest.mark.slow
def test_wheel_contains_every_package_under_regledger(wheel):
    names = _wheel_names(wheel)
    packages_in_wheel = {
        name.removesuffix("/__init__.py").replace("/", ".") for name in names if name.endswith("/__init__.py")
    }

    assert _packages_on_disk() <= packages_in_wheel
    assert all(name.startswith(("regledger/", "regledger-")) for name in names), names
    for package in _packages_on_disk():
        if (REPO / Path(*package.split(".")[1:]) / "py.typed").exists():
            assert f"{package.replace('.', '/')}/py.typed" in names


@pytest.mark.slow
def test_installed_wheel_imports_every_module_without_the_repo(wheel, tmp_path):
    site = tmp_path / "site"
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", site, wheel)
    modules = sorted(
        name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in _wheel_names(wheel)
        if name.startswith("regledger/") and name.endswith(".py")
    )
    assert {"regledger.adapters.settings", "regledger.domain"} <= set(modules)

    venv_site = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_PROBE, str(site), venv_site, json.dumps(modules)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}


def test_python_m_regledger_runs_the_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "regledger", "--help"], cwd=tmp_path, capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert "python -m regledger" in result.stdout
    assert "token" in result.stdout


@pytest.mark.slow
def test_the_installed_wheel_runs_as_python_m_regledger(wheel, tmp_path):
    assert "regledger/__main__.py" in _wheel_names(wheel)
    site = tmp_path / "site"
    _run(sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", site, wheel)
    # As IMPORT_PROBE: only the installed wheel and the venv's dependencies are importable.
    probe = (
        "import runpy, sys; stdlib = [p for p in sys.path if p.startswith(sys.base_prefix) and '-packages' not in p]; "
        "sys.path[:] = [sys.argv.pop(1), sys.argv.pop(1), *stdlib]; sys.argv[0] = 'regledger'; "
        "runpy.run_module('regledger', run_name='__main__', alter_sys=True)"
    )
    venv_site = sysconfig.get_paths()["purelib"]
    result = subprocess.run(
        [sys.executable, "-I", "-c", probe, str(site), venv_site, "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
