"""bench/models_ab.py: two revisions' model benches back to back, each importing its own tree."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_before_and_after_each_measure_their_own_tree(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "bench/models_ab.py",
            "--before",
            "HEAD",
            "--keep",
            str(tmp_path / "lake"),
            "--rounds",
            "1",
            "--trades",
            "20000",
            "--fills",
            "300",
            "--markets",
            "40",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {r["run"]: r for r in json.loads(proc.stdout.strip().splitlines()[-1])}
    assert set(runs) == {"before 1", "after 1"}
    assert Path(runs["after 1"]["code"]) == REPO
    before = Path(runs["before 1"]["code"])
    assert before != REPO and before.name == "HEAD" and not before.exists()  # a worktree, removed at the end
    assert all(r["full_build_s"] > 0 and r["test_failures"] == [] for r in runs.values())
    assert "top-up" in proc.stderr and "full" in proc.stderr  # the side-by-side table
    listed = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True
    ).stdout
    assert str(before) not in listed
