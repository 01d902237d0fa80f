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
def test_bench_history_builds_the_days_pulls_on_a_lake_of_more_days():
    """bench/bench_history.py at a tiny size: the lake repeated back to 60 days has more files, and the day before's
    last pull and the day's first six build on each lake with every check passing (the script asserts it)."""
    summary = run_bench("bench_history.py", "--days", "60", "--trades", "3000", "--markets", "12")
    assert summary["code"] == str(REPO)
    assert summary["60 days"]["files"] > summary["30 days"]["files"]
    for k in ("30 days", "60 days"):
        assert [p for p in summary[k] if p != "files"] == [
            "23:45",
            "00:00",
            "00:15",
            "00:30",
            "00:45",
            "01:00",
            "01:15",
        ]
        assert all(
            summary[k][p]["s"] > 0 and "source_views" in summary[k][p]["phases"]
            for p in summary[k]
            if p != "files"
        )


@pytest.mark.slow
def test_history_ab_replays_the_pulls_on_each_revisions_kept_warehouse(tmp_path):
    """bench/history_ab.py: one prepared lake, a full build kept per revision, the pulls replayed by each revision's
    own tree (the before one a worktree removed at the end); a second invocation reuses the lake and the kept
    build of a commit."""
    work = tmp_path / "work"
    args = [
        "--before",
        "HEAD",
        "--work",
        str(work),
        "--rounds",
        "1",
        "--days",
        "60",
        "--trades",
        "3000",
        "--markets",
        "12",
    ]
    runs = {r["run"]: r for r in run_bench("history_ab.py", *args)}
    assert set(runs) == {"before 1", "after 1"}
    assert Path(runs["after 1"]["code"]) == REPO
    before = Path(runs["before 1"]["code"])
    assert before != REPO and not before.exists()
    assert all(r["00:00"]["s"] > 0 and r["files"] > 0 for r in runs.values())
    kept = sorted(p.name for p in (work / "saved").glob("*.duckdb"))
    assert len(kept) == 2 and "worktree.duckdb" in kept
    lake = (work / "saved" / "sizes.json").stat().st_mtime_ns
    commit = next(work / "saved" / k for k in kept if k != "worktree.duckdb").stat().st_mtime_ns
    run_bench("history_ab.py", *args)
    assert (work / "saved" / "sizes.json").stat().st_mtime_ns == lake  # not generated again
    assert next(work / "saved" / k for k in kept if k != "worktree.duckdb").stat().st_mtime_ns == commit
