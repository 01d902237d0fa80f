"""A damaged Parquet file in the lake (issue 17, item 7): `status` names it, says how to repair and reports every
other stream; `pull` of its stream fails naming it; the CLI says so in one line."""

from __future__ import annotations

import os

import pyarrow.parquet as pq
from typer.testing import CliRunner

from kalshi_extract.ingest.pull import Selection, pull, pull_stream
from kalshi_extract.ingest.status import lake_status
from kalshi_extract.settings import Settings
from tests.lake.helpers import client_and_lake


def _damage(path: str) -> None:
    size = os.path.getsize(path)
    with open(path, "r+b") as f:  # overwrite the footer's tail (length and magic bytes)
        f.seek(size - 12)
        f.write(b"not parquet!")


def test_status_and_pull_name_a_damaged_file(exchange, sim_account, tmp_path):
    client, lake, env = client_and_lake(sim_account, tmp_path / "data")
    assert pull(client, lake, ["trades", "markets"], Selection()).ok
    bad = lake.files("trades")[-1]
    _damage(bad)
    ok_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in lake.files("trades") if f != bad)
    markets_row = next(f for f in lake.files("_runs") if f.endswith("-markets.parquet"))
    _damage(markets_row)  # a run-log row too: the others still count

    report = {s["stream"]: s for s in lake_status(Settings.load(environ=env))["streams"]}
    trades = report["trades"]
    assert trades["corrupt_files"] == [bad] and bad in trades["error"]
    assert "_state/trades.json" in trades["error"] and trades["last_outcome"] == "corrupt file"
    assert trades["rows"] == ok_rows > 0
    markets = report["markets"]
    assert markets["rows"] > 0 and markets["error"] is None
    assert markets["last_outcome"] == "interrupted"  # its run-log row is the damaged one
    assert report["trades"]["completed_runs"] == 1

    from kalshi_lake.cli import app

    out = CliRunner().invoke(app, ["status"], env=env)
    assert out.exit_code == 0 and "corrupt file" in out.output, out.output

    result = pull_stream(client, lake, "trades", Selection())
    assert result.outcome == "failed" and result.error_type == "LakeStateError" and bad in result.error


def test_status_of_a_lake_dir_that_is_a_file_is_a_one_line_error(tmp_path):
    lake_dir = tmp_path / "data"
    lake_dir.write_text("not a directory")
    from kalshi_lake.cli import app

    env = {
        "KALSHI_ENV": "local",
        "KALSHI_API_URL": "http://127.0.0.1:9/trade-api/v2",
        "KALSHI_LAKE_DIR": str(lake_dir),
    }
    out = CliRunner().invoke(app, ["status"], env=env)
    assert out.exit_code != 0
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "is a file" in lines[0], out.output
