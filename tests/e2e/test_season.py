"""The README's "Run a season" block runs as written, and leaves what it says it does."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def season_block() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- season:start -->\n```sh\n(.*?)```\n<!-- season:end -->", text, flags=re.DOTALL)
    assert found is not None, "README.md has no season block"
    return found.group(1)


def test_the_readme_season_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "docs").symlink_to(ROOT / "docs")
    (tmp_path / "var").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGLEDGER_")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", COLUMNS="120")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", season_block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "REFUSED" not in result.stdout.upper()
    rosters = list(csv.DictReader(io.StringIO((tmp_path / "var" / "season-rosters.csv").read_text())))
    assert [(r["section_code"], r["key"]) for r in rosters] == [
        ("M101s1", "s0001"),
        ("M101s2", "s0002"),
        ("S210s1", "s0003"),  # replaced by M101s1, then back by the class change
    ]
    students = list(csv.DictReader(io.StringIO((tmp_path / "var" / "season-students.csv").read_text())))
    assert [s["key"] for s in students] == ["s0001", "s0002", "s0003"]
    tokens = list(csv.DictReader(io.StringIO((tmp_path / "var" / "season-tokens.csv").read_text())))
    assert [t["student_key"] for t in tokens] == ["s0001", "s0002", "s0003"]
    catalogue = json.loads((tmp_path / "var" / "season-catalogue.json").read_text())
    m101 = next(c for c in catalogue["classes"] if c["code"] == "M101")
    assert m101["class_size_max"] == 25
    assert "Splash Fall 2026" in result.stdout
    # What was exported imports back without a change.
    again = subprocess.run(
        ["regledger", "import", "students", "var/season-students.csv", "--program", "splash", "--json"],
        cwd=tmp_path,
        env={**env, "REGLEDGER_HOME": str(tmp_path / "var" / "season")},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(again.stdout)["counts"]["student"] == {"created": 0, "changed": 0, "unchanged": 3}
