"""The recorded WebSocket book on one clock: snapshots (which state no exchange time) and coverage events (timed by
this machine) are placed on the exchange's clock through the connection's skew, so a book recorded on a machine
whose clock runs behind never appears before the exchange sent it."""

from __future__ import annotations

from datetime import timedelta

from kalshi_lake.backtest import run_backtest
from tests.backtest.lakegen import trade, write_stream, ws_delta, ws_snapshot
from tests.backtest.test_fill_model import OnNth, at, make_lake

M = "S-E-M"
BEHIND = 5  # seconds this machine's clock runs behind the exchange's


def secs(s: float):
    return at(0) + timedelta(seconds=s)


def us(s: float) -> int:
    return int(secs(s).timestamp() * 1_000_000)


def recorded(exchange_s: float, local_s: float, rows):
    """Rows as the recorder lands them: a snapshot states no ``ts``; ``received_at`` is the local clock."""
    rows = rows if isinstance(rows, list) else [rows]
    return [
        {**r, "received_at": secs(local_s), "ts": None if r["kind"] == "snapshot" else secs(exchange_s)}
        for r in rows
    ]


def book_lake(tmp_path, coverage=(), more=()):
    lake = make_lake(tmp_path, [trade(M, secs(t), "0.47", 1, "ask") for t in (8, 12, 16)])
    rows = recorded(10, 10 - BEHIND, ws_snapshot(M, secs(0), 1, yes=[], no=[("0.50", 4)]))
    rows += recorded(11, 11 - BEHIND, ws_delta(M, secs(0), 2, "no", "0.49", 4))
    for n, (exchange_s, row) in enumerate(more):
        rows += recorded(exchange_s, exchange_s - BEHIND, {**row, "seq": 3 + n})
    write_stream(lake, "ws_book", rows)
    if coverage:
        write_stream(lake, "ws_coverage", list(coverage))
    return lake


def test_a_snapshot_is_placed_on_the_exchange_clock_not_the_local_one(tmp_path):
    # by the local clock the snapshot arrived at 5 s, before the 8 s print; it is placed at the next timed frame
    # of its connection (the delta stating 11 s): never shown before the exchange sent it
    s = OnNth({n: [("buy", 1, "0.55", "yes", "ioc")] for n in (1, 2)})
    r = run_backtest(s, book_lake(tmp_path))
    assert [(f.ts, f.yes_price, f.price_source) for f in r.state.fills] == [(us(12), 500_000, "ws_book")]
    assert r.metrics.refusals == {"unfilled at arrival: no fresh quote on the ask": 1}


def test_a_snapshot_without_a_later_timed_frame_is_left_out(tmp_path):
    lake = make_lake(tmp_path, [trade(M, secs(t), "0.47", 1, "ask") for t in (8, 12)])
    write_stream(
        lake, "ws_book", recorded(10, 10 - BEHIND, ws_snapshot(M, secs(0), 1, yes=[], no=[("0.50", 4)]))
    )
    s = OnNth({n: [("buy", 1, "0.55", "yes", "ioc")] for n in (1, 2)})
    r = run_backtest(s, lake)
    assert r.state.fills == []


def test_a_coverage_gap_is_placed_at_the_last_frame_before_it(tmp_path):
    # a gap logged at local 10 s, after the delta stating 14 s (received at local 9 s): the book is good at 12 s
    # and distrusted from 14 s on, so the 16 s order finds no recorded book
    gap = {"at": secs(10), "event": "gap", "ticker": M, "connection_id": "c1", "reason": "seq_gap"}
    later = [(14, ws_delta(M, secs(0), 0, "no", "0.49", -1))]
    s = OnNth({n: [("buy", 1, "0.55", "yes", "ioc")] for n in (2, 3)})
    r = run_backtest(s, book_lake(tmp_path, coverage=[gap], more=later))
    assert [(f.ts, f.yes_price, f.price_source) for f in r.state.fills] == [(us(12), 500_000, "ws_book")]
    assert r.metrics.refusals == {"unfilled at arrival: no fresh quote on the ask": 1}
