"""Candlesticks of open markets with a window that starts long before they opened (issue 17, item 1)."""

from __future__ import annotations

from datetime import timedelta

from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.state import parse_iso
from tests.lake.helpers import client_and_lake


def test_since_long_before_an_open_market_opened_still_lands_its_candles(exchange, sim_account, tmp_path):
    client, _, _ = client_and_lake(sim_account, tmp_path / "probe")
    markets = client.get("/markets", {"status": "open", "limit": 200, "mve_filter": "exclude"})["markets"]
    now = client.get_with_time("/exchange/status")[1]
    # open markets that have traded for a few hours: they have finished hourly candles
    picked = [m for m in markets if now - parse_iso(m["open_time"]) > timedelta(hours=6)][:3]
    assert picked, "the small world has open markets that opened hours ago"
    tickers = [m["ticker"] for m in picked]
    earliest = min(parse_iso(m["open_time"]) for m in picked)

    c_all, lake_all, _ = client_and_lake(sim_account, tmp_path / "all")
    assert pull(c_all, lake_all, ["candlesticks"], Selection(tickers=tickers)).ok
    # a window opening more than one 4,999-candle chunk before the markets opened
    since = earliest - timedelta(hours=6000)
    c_win, lake_win, _ = client_and_lake(sim_account, tmp_path / "since")
    result = pull(c_win, lake_win, ["candlesticks"], Selection(tickers=tickers, since=since))
    assert result.ok, result.streams[0].error

    def per_ticker(lake) -> dict:
        table = lake.read("candlesticks")
        out: dict = {}
        for t in table.column("ticker").to_pylist():
            out[t] = out.get(t, 0) + 1
        return out

    without, with_since = per_ticker(lake_all), per_ticker(lake_win)
    assert set(without) == set(tickers), without
    assert with_since == without
    # and it asked for no chunk before the markets opened: one request per market, plus the market lookups
    assert result.streams[0].requests <= len(tickers) * 2 + 4, result.streams[0].requests
