"""Rows that come without their event time land and are reported, never dropped (issue 17, item 2).

Pages of the local exchange are replayed by a scripted server with ``created_time`` removed from some items (and
made unreadable in one): a ``/historical/trades`` page and a live ``/markets/trades`` page.
"""

from __future__ import annotations

import logging

import orjson
import pyarrow.compute as pc

from kalshi_extract.ingest.pull import Selection, pull_stream
from kalshi_extract.lake.run_log import read_runs
from kalshi_extract.lake.state import parse_iso
from kalshi_extract.lake.store import Lake
from tests.lake.helpers import client_and_lake


def _page(client, path: str, params: dict) -> dict:
    page = orjson.loads(client.get_bytes(path, {**params, "limit": 200}))
    page["cursor"] = ""
    return page


def test_rows_without_created_time_land_and_are_reported(
    exchange, sim_account, fake_api, fake_client, tmp_path, caplog
):
    sim, _, _ = client_and_lake(sim_account, tmp_path / "probe")
    cutoff = sim.get("/historical/cutoff")
    hist = _page(sim, "/historical/trades", {})
    live = _page(sim, "/markets/trades", {"min_ts": int(parse_iso(cutoff["trades_created_ts"]).timestamp())})
    assert len(hist["trades"]) == 200 and len(live["trades"]) == 200
    stripped = []
    for page in (hist, live):
        for item in page["trades"][5:15]:
            del item["created_time"]
            stripped.append(item["trade_id"])
    live["trades"][20]["created_time"] = "yesterday"  # unreadable: null, the original kept in _extra
    stripped.append(live["trades"][20]["trade_id"])
    timed = [t["created_time"] for p in (hist, live) for t in p["trades"] if "created_time" in t]
    newest = max(parse_iso(t) for t in timed if t != "yesterday")

    fake_api.routes["/historical/cutoff"] = lambda q: orjson.dumps(cutoff)
    fake_api.pages("/historical/trades", [orjson.dumps(hist)])
    fake_api.pages("/markets/trades", [orjson.dumps(live)])
    lake = Lake(str(tmp_path / "lake"))
    with caplog.at_level(logging.WARNING, logger="kalshi_extract.ingest.pull"):
        result = pull_stream(fake_client, lake, "trades", Selection())

    assert result.ok, result.error
    assert result.rows == 400 and result.rows_untimed == 21
    table = lake.read("trades")
    assert table.num_rows == 400 and len(set(table.column("trade_id").to_pylist())) == 400
    nulls = table.filter(pc.is_null(table.column("created_time")))
    assert sorted(nulls.column("trade_id").to_pylist()) == sorted(stripped)
    assert set(nulls.column("date").to_pylist()) == {result.started_at.strftime("%Y-%m-%d")}  # the load date
    kept = [e for e in nulls.column("_extra").to_pylist() if e]
    assert [orjson.loads(e)["created_time"] for e in kept] == ["yesterday"]
    untimed_warnings = [r for r in caplog.records if "without their event time" in r.getMessage()]
    assert len(untimed_warnings) == 1 and "21 rows" in untimed_warnings[0].getMessage()
    assert read_runs(lake)[-1]["rows_untimed"] == 21
    # the watermark is the newest time that was there, whatever the machine's clock says
    assert parse_iso(lake.read_state("trades")["partitions"]["all"]["watermark"]) == newest

    # a re-run finds every row already landed, the untimed ones too
    again = pull_stream(fake_client, lake, "trades", Selection())
    assert again.ok and again.rows == 0 and again.rows_untimed == 0
    assert lake.read("trades").num_rows == 400
