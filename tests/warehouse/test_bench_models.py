"""bench/bench_models.py end to end at a tiny size: full, no-change and top-up builds, every check passing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY = ["--trades", "20000", "--fills", "300", "--markets", "40"]


def run_bench(script: str, *args: str) -> dict:
    """Run `bench/<script>` at the repository root; its JSON summary (the last stdout line)."""
    proc = subprocess.run(
        [sys.executable, f"bench/{script}", *args], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_bench_models_measures_full_no_change_and_top_up(tmp_path):
    summary = run_bench("bench_models.py", *TINY)
    assert summary["test_failures"] == []
    assert summary["no_change_skipped"] is True
    # the same run's floor: every finished table copied (at least one per model), the per-trade ones named
    floor = summary["full_write_floor_s"]
    assert floor["tables"] >= summary["models"] and floor["all_tables"] > 0
    assert set(summary["full_per_trade_models_s"]) == {"stg_trades", "fct_effective_spreads"} < set(floor)
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


@pytest.mark.slow
def test_bench_steady_builds_successive_pulls_with_every_check_passing(tmp_path):
    """bench/bench_steady.py at a tiny size: a kept lake, three 15-minute pulls built one after the other."""
    kept = tmp_path / "kept"
    run_bench("bench_models.py", *TINY, "--keep", str(kept))
    summary = run_bench("bench_steady.py", "--keep", str(kept), "--pulls", "3")
    assert [r["pull"] for r in summary["rows"]] == [1, 2, 3]
    assert all(r["failures"] == [] and r["total_s"] > 0 and r["fes_row_groups"] >= 1 for r in summary["rows"])
    assert summary["total_min_s"] <= summary["total_median_s"] <= summary["total_max_s"]


@pytest.mark.slow
def test_bench_history_builds_a_top_up_on_a_lake_of_more_days():
    """bench/bench_history.py at a tiny size: the lake repeated back to 60 days has more files, and the two pulls
    on each lake build with every check passing (the script asserts it)."""
    summary = run_bench("bench_history.py", "--days", "60", "--trades", "3000", "--markets", "12")
    assert summary["code"] == str(REPO)
    assert summary["60 days"]["files"] > summary["30 days"]["files"]
    for k in ("30 days", "60 days"):  # the day's first pull, the next one and a steady one
        assert (
            summary[k]["top_up_s"] > 0
            and summary[k]["next_top_up_s"] > 0
            and summary[k]["steady_top_up_s"] > 0
        )
        assert "source_views" in summary[k]["top_up_phases"]
