"""`kalshi-lake status` for a pull killed mid-stream: committed files, no `_runs` row (see kalshi_extract/ingest/status.py).

A kill between a stream's commit and its run-log row is reproduced exactly by pulling for real against the local
exchange and then deleting that stream's `_runs` file.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kalshi_extract.settings import Settings


@pytest.fixture
def lake_env(exchange, tmp_path, monkeypatch) -> Settings:
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KALSHI_ENV", "local")
    monkeypatch.setenv("KALSHI_API_URL", exchange.base_url)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return Settings.load()


def _forget_run(settings: Settings, stream: str, keep: set[str]) -> str:
    """Delete the newest `_runs` row file of `stream` whose run is not in `keep`; return its run id."""
    files = sorted(Path(settings.lake_root, "_runs").rglob(f"*-{stream}.parquet"))
    victims = [f for f in files if f.name[: -len(f"-{stream}.parquet")] not in keep]
    assert victims, files
    victims[-1].unlink()
    return victims[-1].name[: -len(f"-{stream}.parquet")]


def test_status_shows_the_data_of_an_interrupted_pull(exchange, lake_env):
    from kalshi_extract.ingest.plan import plan_pull
    from kalshi_extract.ingest.run import run_pull
    from kalshi_extract.ingest.status import lake_status
    from kalshi_extract.lake.store import Lake

    def pull(streams, **when):
        assert run_pull(lake_env, plan_pull(lake_env, streams, **when)).ok

    split = (exchange.now - timedelta(hours=6)).isoformat()
    pull(["trades", "markets"], until=split)
    killed_markets = _forget_run(lake_env, "markets", keep=set())
    first = {s["stream"]: s for s in lake_status(lake_env)["streams"]}
    ok_trades_run = first["trades"]["last_run_id"]
    pull(["trades"], since=split)
    killed_trades = _forget_run(lake_env, "trades", keep={ok_trades_run})

    lake = Lake.from_settings(lake_env)
    trades_rows = lake.dataset("trades").count_rows()
    times = lake.dataset("trades").to_table(columns=["created_time"]).column("created_time").to_pylist()
    report = {s["stream"]: s for s in lake_status(lake_env)["streams"]}

    markets = report["markets"]
    assert markets["rows"] == lake.dataset("markets").count_rows() > 0
    assert markets["last_outcome"] == "interrupted" and markets["last_run_id"] == killed_markets
    assert markets["completed_runs"] == 0 and markets["last_run"] is not None
    assert [r["run_id"] for r in markets["interrupted_runs"]] == [killed_markets]
    assert "no run-log row" in markets["last_error"]

    trades = report["trades"]
    assert trades["rows"] == trades_rows > 0
    assert trades["last_outcome"] == "interrupted" and trades["last_run_id"] == killed_trades
    assert trades["completed_runs"] == 1
    assert trades["data_start"] == min(times).isoformat() and trades["data_end"] == max(times).isoformat()
    late = sum(1 for t in times if t.isoformat() >= split)
    assert 0 < late < trades_rows  # both runs landed trades
    assert trades["interrupted_runs"][0]["rows"] == late  # the interrupted run's rows count, and in the range

    # streams nobody pulled stay "never"; a completed stream is not flagged
    assert report["series"]["last_run"] is None and report["series"]["interrupted_runs"] == []

    from kalshi_lake.cli import app

    out = CliRunner().invoke(app, ["status"], env={"COLUMNS": "160"})
    assert out.exit_code == 0, out.output
    lines = {
        line.split()[0]: line
        for line in out.stdout.splitlines()
        if line.strip() and line.split()[0] in ("markets", "trades", "series")
    }
    assert "interrupted, no completed run" in lines["markets"] and "never" not in lines["markets"]
    assert "interrupted" in lines["trades"] and "no completed run" not in lines["trades"]
    assert "never" in lines["series"]
    as_json = json.loads(CliRunner().invoke(app, ["status", "--json"]).stdout)
    assert {s["stream"]: s["last_outcome"] for s in as_json["streams"]}["markets"] == "interrupted"
