"""book_at, book_status_at, fct_book_top and fct_book_gaps on a hand-built recording (minutes after T0).

Market B1 (connection c1, sid 1), then c2 (sid 5) after a cut, then c3 in a second recorder session:
  0    snapshot seq 1: yes .40x10 .42x5 / no .55x7 .50x3   whole            top: bid .42 (5) ask .45 (7)
  1    delta seq 2: yes .42 -5 (the level goes to zero)                     top: bid .40 (10) ask .45 (7)
  2    delta seq 3: no .56 +4                                               top: bid .40 (10) ask .44 (4)
  3    delta seq 4: yes .41 +2                                              top: bid .41 (2) ask .44 (4)
  4    gap (seq_gap, expected 5, got 6)                                     unknown
  4.5  delta seq 6: yes .40 -10 (applied to the replay, but the book is not whole)
  5    snapshot seq 8 (get_snapshot): yes .39x1 / no .60x2   whole            top: bid .39 (1) ask .40 (2)
  6    c1 disconnected (cut); 6.01 gap B1 (disconnected): absorbed        unknown
  6.5  c2 snapshot seq 1: yes .45x3 / no empty   whole                      top: bid .45 (3), bid_only
  7    late c1 delta seq 9: yes .46 +100 -> after_newer_snapshot, never applied
  8    c2 delta seq 2: no .50 +1                                            top: bid .45 (3) ask .50 (1)
  9    last alive of session 1; a new `started` at 20 without a `stopped`: recorder_died from 9 -> unknown
  21   c3 snapshot: empty book   whole                                      top: empty
  22   alive; 23 stopped                                                    unknown
Market B2: c1 sid 2 snapshot at 0.5 (yes .10x1), lost at the cut (6), c2 sid 6 snapshot at 6.6, lost at the crash.
The c1 snapshot file of B1 is landed twice (a re-run): staging keeps one copy.
REST beside it: an order-book snapshot of B1 at 2.5 (yes .30x1 / no .60x1: mid .35); trades T1 (REST and WS, 3.5),
T2 (WS only, 4.5), T3 (REST only, -0.5).
  T1 at 3.5: the WS book is whole: mid (.41 + .44) / 2 = .425 from ws_book, age 30 s (the top changed at 3)
  T2 at 4.5: the WS book is in a gap: the REST mid .35 (orderbook, 2.5), age 120 s
  B1's mark: ws_book (.45 + .50) / 2 = .475, current until 9 (later than the REST snapshot at 2.5)
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_lake import warehouse

from .lakegen import D, at, book, coverage, market, write_stream, ws_delta, ws_snapshot


def trade(tid, minutes, price, **kw):
    return {
        "trade_id": tid,
        "ticker": "B1",
        "count_fp": D(1),
        "yes_price_dollars": D(price),
        "no_price_dollars": 1 - D(price),
        "taker_outcome_side": "yes",
        "taker_book_side": "bid",
        "created_time": at(minutes),
        "is_block_trade": False,
        **kw,
    }


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    root = tmp_path_factory.mktemp("book") / "lake"
    first = ws_snapshot("B1", 0, "c1", 1, 1, yes=[("0.40", 10), ("0.42", 5)], no=[("0.55", 7), ("0.50", 3)])
    write_stream(root, "ws_book", first, run_id="rec-1")
    write_stream(root, "ws_book", [{**r, "_loaded_at": at(30)} for r in first], run_id="rec-1-again")
    rows = (
        ws_snapshot("B2", 0.5, "c1", 2, 1, yes=[("0.10", 1)])
        + [
            ws_delta("B1", 1, "c1", 1, 2, "yes", "0.42", -5),
            ws_delta("B1", 2, "c1", 1, 3, "no", "0.56", 4),
            ws_delta("B1", 3, "c1", 1, 4, "yes", "0.41", 2),
            ws_delta("B1", 4.5, "c1", 1, 6, "yes", "0.40", -10),
        ]
        + ws_snapshot("B1", 5, "c1", 1, 8, yes=[("0.39", 1)], no=[("0.60", 2)])
        + ws_snapshot("B1", 6.5, "c2", 5, 1, yes=[("0.45", 3)])
        + ws_snapshot("B2", 6.6, "c2", 6, 1, yes=[("0.11", 1)])
        + [
            ws_delta("B1", 7, "c1", 1, 9, "yes", "0.46", 100),
            ws_delta("B1", 8, "c2", 5, 2, "no", "0.50", 1),
        ]
        + ws_snapshot("B1", 21, "c3", 1, 1)
    )
    write_stream(root, "ws_book", rows, run_id="rec-1")
    log = [
        coverage(-1, "started"),
        coverage(-1, "connected", connection_id="c1"),
        coverage(0, "whole", "B1", "c1", 1),
        coverage(0.5, "whole", "B2", "c1", 2),
        coverage(1, "alive"),
        coverage(4, "gap", "B1", "c1", 1, "seq_gap", expected_seq=5, got_seq=6),
        coverage(5, "whole", "B1", "c1", 1),
        coverage(6, "disconnected", connection_id="c1", reason="cut"),
        coverage(6.01, "gap", "B1", "c1", 1, "disconnected"),
        coverage(6.01, "gap", "B2", "c1", 2, "disconnected"),
        coverage(6.4, "connected", connection_id="c2"),
        coverage(6.5, "whole", "B1", "c2", 5),
        coverage(6.6, "whole", "B2", "c2", 6),
        coverage(8, "alive"),
        coverage(9, "alive"),
        coverage(20, "started"),
        coverage(20, "connected", connection_id="c3"),
        coverage(21, "whole", "B1", "c3", 1),
        coverage(22, "alive"),
        coverage(23, "stopped"),
    ]
    write_stream(root, "ws_coverage", log, run_id="rec-1")
    write_stream(root, "orderbook_snapshots", book("B1", 2.5, yes=[("0.30", 1)], no=[("0.60", 1)]))
    write_stream(root, "markets", [market("B1", "EV-B", minutes=-5)])
    write_stream(root, "trades", [trade("T1", 3.5, "0.43"), trade("T3", -0.5, "0.40")])
    ws_trade = {"sid": 3, "connection_id": "c1"}
    write_stream(
        root,
        "ws_trades",
        [
            trade("T1", 3.5, "0.43", received_at=at(3.51), **ws_trade),
            trade("T2", 4.5, "0.42", received_at=at(4.51), **ws_trade),
        ],
    )
    c = warehouse.build_in_memory(root, run_tests=True)
    yield c
    c.close()


def levels(con, minutes, ticker="B1", **kw):
    args = ", require_whole := false" if kw.get("raw") else ""
    return con.execute(
        f"select side, price, quantity from book_at(?, ?{args})", [ticker, at(minutes)]
    ).fetchall()


def L(*rows):
    return [(side, D(p), D(q).quantize(Decimal("0.01"))) for side, p, q in rows]


def test_book_at_replays_the_snapshot_and_its_deltas(con):
    assert levels(con, -0.5) == []
    assert levels(con, 0) == L(("yes", ".42", 5), ("yes", ".40", 10), ("no", ".55", 7), ("no", ".50", 3))
    # the .42 level went to zero: gone, not a zero row
    assert levels(con, 1) == L(("yes", ".40", 10), ("no", ".55", 7), ("no", ".50", 3))
    assert levels(con, 2.5) == L(("yes", ".40", 10), ("no", ".56", 4), ("no", ".55", 7), ("no", ".50", 3))
    assert levels(con, 3.5) == L(
        ("yes", ".41", 2), ("yes", ".40", 10), ("no", ".56", 4), ("no", ".55", 7), ("no", ".50", 3)
    )
    # the result types: DECIMAL price and quantity
    types = [d[1] for d in con.execute("select * from book_at('B1', ?)", [at(1)]).description]
    assert types[1:] == ["DECIMAL(18,6)", "DECIMAL(18,2)"]


def test_a_gap_returns_no_book_until_a_fresh_snapshot_replaces_it(con):
    assert levels(con, 4.2) == [] and levels(con, 4.7) == []
    assert levels(con, 4.7, raw=True) == L(
        ("yes", ".41", 2), ("no", ".56", 4), ("no", ".55", 7), ("no", ".50", 3)
    )
    status = con.execute(
        "select whole, why_not, connection_id from book_status_at('B1', ?)", [at(4.7)]
    ).fetchall()
    assert status == [(False, "not_whole", "c1")]
    assert levels(con, 5.5) == L(("yes", ".39", 1), ("no", ".60", 2))


def test_a_reconnect_replaces_the_book_and_old_connection_deltas_never_apply(con):
    assert levels(con, 6.2) == []  # cut: not whole until the new connection's snapshot
    assert levels(con, 7.5) == L(("yes", ".45", 3))  # c1's late delta (.46 +100) ignored
    assert levels(con, 8.5) == L(("yes", ".45", 3), ("no", ".50", 1))
    assert con.execute(
        "select status from int_book_events where connection_id = 'c1' and seq = 9"
    ).fetchall() == [("after_newer_snapshot",)]


def test_a_dead_recorder_vouches_only_up_to_its_last_alive_and_an_empty_book_is_whole(con):
    assert levels(con, 8.99) == L(("yes", ".45", 3), ("no", ".50", 1))
    assert levels(con, 10) == []
    assert levels(con, 21.5) == []
    assert con.execute("select whole, why_not from book_status_at('B1', ?)", [at(21.5)]).fetchall() == [
        (True, None)
    ]
    assert con.execute("select whole from book_status_at('B1', ?)", [at(23.5)]).fetchall() == [(False,)]


def test_staging_keeps_one_copy_of_a_recording_landed_twice(con):
    assert con.execute(
        "select count(*) from stg_ws_book where ticker = 'B1' and connection_id = 'c1' and seq = 1"
    ).fetchone() == (4,)


def test_fct_book_top_has_every_change_of_the_top(con):
    rows = con.execute(
        "select observed_at, book_state, yes_bid_dollars, yes_bid_size_fp, yes_ask_dollars, yes_ask_size_fp, "
        "mid_dollars, spread_dollars, connection_id from fct_book_top where ticker = 'B1' order by observed_at"
    ).fetchall()

    def r(m, state, bid=None, bs=None, ask=None, asz=None, conn=None):
        bid, ask = (D(bid) if bid else None), (D(ask) if ask else None)
        mid = (bid + ask) / 2 if bid and ask else None
        return (
            at(m),
            state,
            bid,
            D(bs) if bs else None,
            ask,
            D(asz) if asz else None,
            mid,
            ask - bid if bid and ask else None,
            conn,
        )

    assert rows == [
        r(0, "two_sided", ".42", 5, ".45", 7, "c1"),
        r(1, "two_sided", ".40", 10, ".45", 7, "c1"),
        r(2, "two_sided", ".40", 10, ".44", 4, "c1"),
        r(3, "two_sided", ".41", 2, ".44", 4, "c1"),
        r(4, "unknown", conn="c1"),
        r(5, "two_sided", ".39", 1, ".40", 2, "c1"),
        r(6, "unknown", conn="c1"),
        r(6.5, "bid_only", ".45", 3, conn="c2"),
        r(8, "two_sided", ".45", 3, ".50", 1, "c2"),
        r(9, "unknown", conn="c2"),
        r(21, "empty", conn="c3"),
        r(23, "unknown", conn="c3"),
    ]


def test_fct_book_gaps_one_row_per_gap_lost_connection_and_crash(con):
    rows = con.execute(
        "select ticker, detected_at, whole_again_at, reason, expected_seq, got_seq from fct_book_gaps "
        "order by ticker, detected_at"
    ).fetchall()
    assert rows == [
        ("B1", at(4), at(5), "seq_gap", 5, 6),
        ("B1", at(6), at(6.5), "disconnected: cut", None, None),
        ("B1", at(9), at(21), "recorder_died", None, None),
        ("B1", at(23), None, "recorder_stopped", None, None),
        ("B2", at(6), at(6.6), "disconnected: cut", None, None),
        ("B2", at(9), None, "recorder_died", None, None),
    ]


def test_a_trade_in_both_rest_and_ws_lands_once_in_stg_trades(con):
    rows = con.execute(
        "select trade_id, trade_source, created_time, connection_id from stg_trades order by trade_id"
    ).fetchall()
    assert rows == [
        ("T1", "rest", at(3.5), None),
        ("T2", "ws", at(4.5), "c1"),
        ("T3", "rest", at(-0.5), None),
    ]


def test_spreads_and_marks_prefer_a_fresh_ws_quote(con):
    rows = con.execute(
        "select trade_id, mid_dollars, mid_source, mid_age_seconds from fct_effective_spreads order by trade_id"
    ).fetchall()
    assert rows == [
        ("T1", D("0.425"), "ws_book", 30),
        # #15: the REST fallback is 120 s old, beyond max_mid_age_seconds (60): stale, counted, not matched
        ("T2", None, "orderbook", 120),
        ("T3", None, "market", 270),  # the only earlier quote (a market snapshot at -5) has no bid or ask
    ]
    mark = con.execute(
        "select mark_price_dollars, mark_source, mid_source, mid_current_until from int_market_marks "
        "where ticker = 'B1'"
    ).fetchall()
    assert mark == [(D("0.475"), "mid", "ws_book", at(9))]
    states = con.execute(
        "select book_state, count(*) from fct_spreads where ticker = 'B1' and source = 'ws_book' group by all "
        "order by all"
    ).fetchall()
    assert states == [("bid_only", 1), ("empty", 1), ("two_sided", 6), ("unknown", 4)]
