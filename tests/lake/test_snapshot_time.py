"""Snapshot streams carry the exchange's time (the response's ``Date``), falling back to this machine's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from kalshi_sim import LocalExchange
from tests.lake.helpers import client_and_lake, trade_some

SNAPSHOTS = ("balance", "exchange_status", "positions", "orderbook_snapshots")


def _rows(lake: Lake, stream: str) -> list[dict]:
    return lake.read(stream).to_pylist()


def test_snapshots_carry_the_local_exchanges_clock(tmp_path):
    with LocalExchange(seed=11, size="tiny") as ex:
        client, lake, _ = client_and_lake(ex.create_account(balance_cents=100_000), tmp_path / "data")
        with client:
            assert trade_some(client, 2) == 2
            ex.advance(
                3600 * 13 + 0.25
            )  # 2026-11-25 01:00:00.25 on the exchange, whatever the wall clock says
            exchange_now = ex.now
            result = pull(client, lake, list(SNAPSHOTS), Selection())
            assert result.ok, [s.error for s in result.streams]
            assert all(s.rows > 0 for s in result.streams), [(s.stream, s.rows) for s in result.streams]
            expected = exchange_now.replace(microsecond=0)
            assert expected == datetime(2026, 11, 25, 1, 0, 0, tzinfo=UTC)
            for stream in SNAPSHOTS:
                rows = _rows(lake, stream)
                assert {r["snapshot_ts"] for r in rows} == {expected}, stream
                assert {str(r["date"]) for r in rows} == {"2026-11-25"}, stream
                loaded = {r["_loaded_at"] for r in rows}
                assert all(abs(t - datetime.now(UTC)) < timedelta(minutes=10) for t in loaded), stream
                assert lake.read_state(stream, client.settings.account)["meta"]["last_snapshot"].startswith(
                    "2026-11-25T01:00:00"
                ), stream

            # a later run after the exchange moved on lands a second snapshot at the new time, the first untouched
            ex.advance(600)
            result = pull(client, lake, ["balance", "orderbook_snapshots"], Selection())
            assert result.ok, [s.error for s in result.streams]
            for stream in ("balance", "orderbook_snapshots"):
                times = sorted({r["snapshot_ts"] for r in _rows(lake, stream)})
                assert times == [expected, expected + timedelta(seconds=600)], stream


BOOK = {
    "orderbooks": [
        {
            "ticker": "KXA-1",
            "orderbook_fp": {"yes_dollars": [["0.4000", "10.00"]], "no_dollars": [["0.5500", "3.00"]]},
        }
    ]
}
BALANCE = {"balance": 12_345, "portfolio_value": 0, "updated_ts": 1_700_000_000}
STATUS = {"exchange_active": True, "trading_active": True}


def _fake_routes(fake_api) -> None:
    fake_api.routes["/markets/orderbooks"] = lambda q: orjson.dumps(BOOK)
    fake_api.routes["/portfolio/balance"] = lambda q: orjson.dumps(BALANCE)
    fake_api.routes["/exchange/status"] = lambda q: orjson.dumps(STATUS)


@pytest.mark.parametrize(
    "header", [None, "not a date", "Wed, 25 Nov 2026 25:61:99 GMT"], ids=["absent", "junk", "bad"]
)
def test_snapshot_time_falls_back_to_the_local_clock(fake_api, fake_client, tmp_path, header):
    _fake_routes(fake_api)
    fake_api.date = header
    lake = Lake(str(tmp_path / "lake"))
    before = datetime.now(UTC)
    result = pull(
        fake_client, lake, ["orderbook_snapshots", "balance", "exchange_status"], Selection(tickers=["KXA-1"])
    )
    assert result.ok, [s.error for s in result.streams]
    for stream in ("orderbook_snapshots", "balance", "exchange_status"):
        rows = _rows(lake, stream)
        assert rows, stream
        for r in rows:
            assert r["snapshot_ts"] == r["_loaded_at"], stream  # the run's local clock, to the microsecond
            assert before - timedelta(seconds=1) <= r["snapshot_ts"] <= datetime.now(UTC), stream


def test_snapshot_time_and_partition_follow_the_servers_date(fake_api, fake_client, tmp_path):
    _fake_routes(fake_api)
    fake_api.date = "Mon, 01 Jan 2024 23:59:59 GMT"
    lake = Lake(str(tmp_path / "lake"))
    result = pull(
        fake_client, lake, ["orderbook_snapshots", "balance", "exchange_status"], Selection(tickers=["KXA-1"])
    )
    assert result.ok, [s.error for s in result.streams]
    for stream in ("orderbook_snapshots", "balance", "exchange_status"):
        rows = _rows(lake, stream)
        assert {r["snapshot_ts"] for r in rows} == {datetime(2024, 1, 1, 23, 59, 59, tzinfo=UTC)}, stream
        assert {str(r["date"]) for r in rows} == {"2024-01-01"}, stream
        assert (tmp_path / "lake" / stream / "date=2024-01-01").is_dir(), stream
