"""bench/bench_models.py end to end at a tiny size: full, no-change and top-up builds, every check passing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_models_measures_full_no_change_and_top_up(tmp_path):
    proc = subprocess.run(
        [sys.executable, "bench/bench_models.py", "--trades", "20000", "--fills", "300", "--markets", "40"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["test_failures"] == []
    assert summary["no_change_skipped"] is True
    assert summary["no_change_kept"] == summary["models"]
    assert summary["top_up_rows"]["trades"] >= 1
    assert summary["top_up_models"]["incremental"] >= 8
    assert summary["top_up_incremental_s"] > 0 and summary["top_up_full_refresh_s"] > 0
    assert summary["top_up_check_failures"] == [] and summary["top_up_checks_run"] > 0
    assert summary["top_up_checks_skipped"] > 0  # the checks of the models the top-up kept
    assert {"snapshot", "source_dirt", "models", "record", "commit"} <= set(summary["top_up_phases"])
    # the next pull's top-up (its own trades, 15 minutes on) builds and passes its checks too
    assert summary["next_top_up_check_failures"] == [] and summary["next_top_up_incremental_s"] > 0
    assert {"models", "commit", "checks"} <= set(summary["next_top_up_phases"])
    # and a pull landing at noon of the last generated day, beside rows already there
    assert summary["noon_top_up_check_failures"] == [] and summary["noon_top_up_incremental_s"] > 0
