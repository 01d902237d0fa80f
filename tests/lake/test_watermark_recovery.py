"""After kills, the watermark is restored to what is on disk (issue 17, item 8).

A pull killed after it landed the newest trades (pages come newest first) leaves them in the lake; the re-run
finds them already landed. Its watermark must still reach them, or every later no-op run re-reads those pages.
"""

from __future__ import annotations

import glob
import json
import subprocess
import sys
import time

import pyarrow.compute as pc

from kalshi_extract.ingest.pull import Selection, pull_stream
from kalshi_extract.lake.state import from_micros, parse_iso
from tests.lake.helpers import client_and_lake


def test_watermark_reaches_the_data_a_killed_run_landed(exchange, sim_account, tmp_path):
    client, lake, env = client_and_lake(sim_account, tmp_path / "data")
    env = {**env, "KALSHI_CONCURRENCY": "1"}
    args = [sys.executable, "-m", "tests.lake.pull_child", json.dumps(env), "trades", "small"]
    # the live slice (after the historical cutoff) is pulled last: kill the run once it landed live trades
    live_day = parse_iso(client.get("/historical/cutoff")["trades_created_ts"]).strftime("%Y-%m-%d")

    def live_files() -> set:
        return {
            f
            for f in glob.glob(f"{lake.root}/trades/date=*/*.parquet")
            if f.split("date=")[1][:10] > live_day
        }

    kills = 0
    for _ in range(3):  # a chain of kills, each after the run committed some live trades
        before = live_files()
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if live_files() - before:
                proc.kill()
                kills += 1
                break
            time.sleep(0.005)
        proc.communicate(timeout=60)
    assert kills >= 1

    done = pull_stream(client, lake, "trades", Selection())
    assert done.ok, done.error
    on_disk = from_micros(
        pc.max(lake.read("trades", columns=["created_time"]).column("created_time").cast("int64")).as_py()
    )
    watermark = parse_iso(lake.read_state("trades")["partitions"]["all"]["watermark"])
    assert watermark == on_disk

    again = pull_stream(client, lake, "trades", Selection())  # nothing new: cheap
    assert again.ok and again.rows == 0 and again.requests <= 3, (again.rows, again.requests)
