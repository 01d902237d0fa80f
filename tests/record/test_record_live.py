"""A recording against the local exchange: books rebuilt from the lake equal the engine's after every advance,
through an injected seq gap and a cut connection, which the coverage log shows; discovery by series."""

from __future__ import annotations

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.recorder import Recorder
from kalshi_extract.ingest.recorder_plan import plan_record
from kalshi_sim import LocalExchange
from tests.record.helpers import FAST, Running, account_settings, rebuild_books, rest_book, two_sided_markets

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exchange():
    with LocalExchange(seed=5, size="small") as ex:
        yield ex


def _coverage(lake) -> list[dict]:
    rows = lake.read("ws_coverage").to_pylist()
    return sorted(rows, key=lambda r: r["at"])


def test_recorded_books_equal_the_engine_through_gaps_and_cuts(exchange, tmp_path):
    ex = exchange
    acct = ex.create_account()
    settings = account_settings(ex, acct, tmp_path)
    tickers = two_sided_markets(settings, 5)
    assert len(tickers) >= 4
    plan = plan_record(settings, tickers=tickers, flush_seconds=0.2)
    rec = Recorder(settings, plan, options=FAST, run_id="live")
    running = Running(rec)
    compared = 0
    with KalshiClient(settings) as client:
        for step in range(6):
            if step == 2:
                ex.set_faults(ws_drop_messages=1)
            if step == 4:
                ex.set_faults(ws_cut_connections=1)
            ex.advance(900)
            running.settle()
            books = rebuild_books(rec.lake)
            for t in tickers:
                if t in books:  # a market that closed has no book to compare
                    assert books[t] == rest_book(client, t), (step, t)
                    compared += 1
    status = running.stop()
    assert compared >= 5 * 4
    assert status.reconnects == 1 and status.gaps >= 1
    cov = _coverage(rec.lake)
    events = [r["event"] for r in cov]
    assert events[0] == "started" and events[-2:] == ["stopped", "alive"]
    assert [r["reason"] for r in cov if r["event"] == "stopped"] == ["stopped"]
    seq_gaps = [r for r in cov if r["event"] == "gap" and r["reason"].startswith("seq_gap")]
    assert seq_gaps and all(r["got_seq"] > r["expected_seq"] for r in seq_gaps)
    assert [r for r in cov if r["event"] == "disconnected"]
    connected = [r["connection_id"] for r in cov if r["event"] == "connected"]
    assert connected == ["live-c1", "live-c2"]
    # after the cut every market's book is whole again, on the new connection
    whole_after = {r["ticker"] for r in cov if r["event"] == "whole" and r["connection_id"] == "live-c2"}
    assert set(tickers) <= whole_after
    lost = {r["ticker"] for r in cov if r["event"] == "gap" and r["reason"].startswith("disconnected")}
    assert set(tickers) <= lost
    # nothing twice: a delta is one (connection, sid, seq), a snapshot level one (connection, sid, seq, side, price)
    book = rec.lake.read("ws_book").to_pylist()
    keys = [(r["connection_id"], r["sid"], r["seq"], r["side"], r["price_dollars"]) for r in book]
    assert len(keys) == len(set(keys))
    trades = rec.lake.read("ws_trades").to_pylist()
    assert trades and len({t["trade_id"] for t in trades}) == len(trades)
    assert rec.lake.files("ws_ticker") and rec.lake.files("ws_lifecycle") is not None


def test_series_discovery_adds_opening_markets_and_drops_settled_ones(exchange, tmp_path):
    ex = exchange
    acct = ex.create_account()
    settings = account_settings(ex, acct, tmp_path)
    plan = plan_record(settings, series="KXHIGHNY", channels="orderbook_delta,trade", flush_seconds=0.2)
    rec = Recorder(settings, plan, options=FAST, run_id="disc")
    running = Running(rec)
    at_start = set(rec.markets)
    assert at_start and all(t.startswith("KXHIGHNY-") for t in at_start)
    for _ in range(4):
        ex.advance(12 * 3600)
        running.settle()
    running.stop()
    cov = _coverage(rec.lake)
    added = [r for r in cov if r["event"] == "added"]
    removed = [r for r in cov if r["event"] == "removed"]
    assert {r["ticker"] for r in added if r["reason"].startswith("open at start")} == at_start
    opened = {r["ticker"] for r in added if r["reason"].startswith("opened")}
    assert opened and opened.isdisjoint(at_start)
    assert removed and {r["reason"] for r in removed} <= {"determined", "settled"}
    # markets that opened while recording have books in the lake
    booked = {r["ticker"] for r in rec.lake.read("ws_book", columns=["ticker"]).to_pylist()}
    assert opened & booked
    with KalshiClient(settings) as client:
        still_open = {m["ticker"] for m in client.get_markets(series_ticker="KXHIGHNY", status="open")}
    assert still_open <= set(rec.markets)
