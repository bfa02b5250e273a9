"""The README's first commands are `make demo` and `make test`, and both resolve in the Makefile."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", text, flags=re.DOTALL)
    commands = []
    for block in blocks:
        for line in block.splitlines():
            command = line.split("#", 1)[0].strip().removeprefix("$ ")
            if command:
                commands.append(command)
    return commands


def test_the_first_two_readme_commands_are_make_demo_and_make_test():
    assert _readme_commands()[:2] == ["make demo", "make test"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize("target", ["demo", "test"])
def test_make_targets_resolve(target):
    result = subprocess.run(["make", "-n", target], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    if target == "demo":
        assert ".venv/bin/regledger demo" in result.stdout
    else:
        assert "pytest" in result.stdout
        assert "ruff" in result.stdout
