"""`status` on compacted files (row groups holding several runs) and without numpy (issue #20: `status` ≤ 0.5 s).

A compacted row group's `_run_id` statistics are not one value: `status` tallies it run by run only when its
dictionary names a run the run log lacks (reported as interrupted, with its rows and newest `_loaded_at`); the
stream's freshness comes from the group's `_loaded_at` statistics. `kalshi-lake status` runs with numpy made
unimportable (pyarrow imports it whenever it is installed: ~0.12 s of CPU) and must print what it prints with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from kalshi_extract.ingest.status import lake_status
from kalshi_extract.lake.convert import Converter
from kalshi_extract.lake.run_log import new_run_id, record_run
from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 6, 1, tzinfo=UTC)


def _trades(run_id: str, loaded_at: datetime, n: int, start: int):
    items = [
        {
            "trade_id": f"t{i}",
            "ticker": "X-1",
            "count_fp": "1.00",
            "yes_price_dollars": "0.5000",
            "no_price_dollars": "0.5000",
            "taker_outcome_side": "yes",
            "taker_book_side": "bid",
            "created_time": (T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "is_block_trade": False,
        }
        for i in range(start, start + n)
    ]
    return Converter(
        "trades", STREAM_COLUMNS["trades"], arrow_schema("trades"), run_id=run_id, loaded_at=loaded_at
    ).convert(items)


def _compacted_lake(tmp_path) -> tuple[Settings, dict[str, tuple[int, datetime]]]:
    """Five runs of trades, compacted into one file (one row group of five runs); the last two have no run-log
    row. Returns the settings and {run id: (rows, loaded_at)}."""
    settings = Settings.load(environ={"KALSHI_LAKE_DIR": str(tmp_path / "data")}, config_path=None)
    lake = Lake.from_settings(settings)
    runs = {}
    for k in range(5):
        run_id, loaded = new_run_id(), T0 + timedelta(hours=1 + k)
        runs[run_id] = (3 + k, loaded)
        w = lake.writer("trades", run_id, date_column="created_time")
        w.write(_trades(run_id, loaded, 3 + k, start=100 * k))
        lake.commit("trades", w.finish())
        if k < 3:
            row = {"run_id": run_id, "stream": "trades", "started_at": loaded, "finished_at": loaded}
            record_run(lake, {**row, "outcome": "ok"})
    lake.compact("trades")
    (path,) = lake.files("trades")
    meta = lake.open_parquet(path).metadata
    assert meta.num_row_groups == 1  # one row group, five runs: what this test is about
    return settings, runs


def test_a_compacted_row_group_reports_its_unlogged_runs_and_its_freshness(tmp_path):
    settings, runs = _compacted_lake(tmp_path)
    trades = {s["stream"]: s for s in lake_status(settings, now=T0 + timedelta(days=1))["streams"]}["trades"]
    ids = list(runs)
    assert trades["rows"] == sum(n for n, _ in runs.values())
    assert trades["completed_runs"] == 3
    assert trades["interrupted_runs"] == [
        {"run_id": r, "rows": runs[r][0], "loaded_at": runs[r][1].isoformat()} for r in ids[3:]
    ]
    assert trades["last_outcome"] == "interrupted" and trades["last_run_id"] == ids[4]
    assert trades["loaded_at"] == runs[ids[4]][1].isoformat()


def test_a_compacted_row_group_whose_runs_are_all_logged_is_not_tallied(tmp_path, monkeypatch):
    settings, runs = _compacted_lake(tmp_path)
    lake = Lake.from_settings(settings)
    for run_id in list(runs)[3:]:
        record_run(
            lake, {"run_id": run_id, "stream": "trades", "started_at": T0, "finished_at": T0, "outcome": "ok"}
        )
    from kalshi_extract.ingest import status

    def tally(*args, **kwargs):
        raise AssertionError("every run of the group is in the run log: nothing to count")

    monkeypatch.setattr(status, "_runs_of_group", tally)
    trades = {s["stream"]: s for s in lake_status(settings)["streams"]}["trades"]
    assert trades["interrupted_runs"] == [] and trades["completed_runs"] == 5
    assert trades["loaded_at"] == max(loaded for _, loaded in runs.values()).isoformat()


_MAIN = """
import atexit, json, sys
atexit.register(lambda: print("NUMPY " + json.dumps("numpy" in sys.modules and sys.modules["numpy"] is not None),
                               file=sys.stderr))
from kalshi_lake.cli import main
main()
"""


def _without_times(report: dict) -> dict:
    report.pop("now")
    for s in report["streams"]:
        for key in ("last_run_age", "freshness"):
            s.pop(key)
    return report


def test_cli_status_runs_without_numpy_and_prints_the_same(tmp_path, monkeypatch):
    settings, _ = _compacted_lake(tmp_path)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COLUMNS": "160",
        "KALSHI_LAKE_DIR": str(tmp_path / "data"),
    }
    out = subprocess.run(
        [sys.executable, "-c", _MAIN, "status", "--json"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert "NUMPY false" in out.stderr  # pyarrow went without it
    assert "numpy" in sys.modules  # this process (the reference) has it
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    for key in [k for k in os.environ if k.startswith("KALSHI_") and k != "KALSHI_LAKE_DIR"]:
        monkeypatch.delenv(key)
    from kalshi_lake.cli import app

    ref = CliRunner().invoke(app, ["status", "--json"])
    assert ref.exit_code == 0, ref.output
    assert _without_times(json.loads(out.stdout)) == _without_times(json.loads(ref.stdout))
    interrupted = {s["stream"]: s for s in json.loads(out.stdout)["streams"]}["trades"]["interrupted_runs"]
    assert len(interrupted) == 2
