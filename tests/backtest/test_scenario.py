"""A hand-computed scenario: a few trades, two settlements, known fees → exact fills, fees, P&L, tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import duckdb
import pytest

from kalshi_lake.backtest import BacktestConfig, Strategy, plot_equity, run_backtest, write_results
from tests.backtest.lakegen import market, trade, write_stream

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenario") / "lake"
    write_stream(
        root,
        "series",
        [
            {"ticker": "S1", "fee_type": "quadratic", "fee_multiplier": D("1")},
            {"ticker": "S2", "fee_type": "quadratic_with_maker_fees", "fee_multiplier": D("1")},
        ],
    )
    write_stream(
        root,
        "events",
        [{"event_ticker": "S1-E", "series_ticker": "S1"}, {"event_ticker": "S2-E", "series_ticker": "S2"}],
    )
    write_stream(
        root,
        "markets",
        [
            market("S1-E-M1", "S1-E", close=at(600), result="yes", value=D("1"), settle=at(660)),
            market("S2-E-M2", "S2-E", close=at(600), result="no", value=D("0"), settle=at(720)),
        ],
    )
    write_stream(
        root,
        "trades",
        [
            trade("S1-E-M1", at(0), "0.30", 20, "bid", "m1-1"),
            trade("S2-E-M2", at(1), "0.80", 5, "ask", "m2-1"),  # a seller hit the 0.80 bid
            trade("S1-E-M1", at(5), "0.26", 3, "ask", "m1-2"),
            trade("S1-E-M1", at(10), "0.25", 4, "ask", "m1-3"),
            trade("S1-E-M1", at(15), "0.24", 3, "ask", "m1-4"),
            trade("S2-E-M2", at(16), "0.74", 6, "ask", "m2-2"),
            trade("S1-E-M1", at(20), "0.20", 10, "ask", "m1-5"),
            trade("S1-E-M1", at(30), "0.70", 8, "ask", "m1-6"),  # a seller hit the 0.70 bid
        ],
    )
    # the same trade landed twice by two pulls must be replayed once
    write_stream(root, "trades", [trade("S1-E-M1", at(5), "0.26", 3, "ask", "m1-2")], run_id="second-pull")
    return root


class Scripted(Strategy):
    """Acts on the n-th trade of each market, as in the hand computation."""

    name = "scripted"

    def on_start(self, ctx):
        self.seen = {}
        self.orders = []

    def on_trade(self, ctx, t):
        n = self.seen[t.ticker] = self.seen.get(t.ticker, 0) + 1
        if t.ticker == "S1-E-M1" and n == 1:
            self.orders.append(ctx.buy("S1-E-M1", 10, "0.30", time_in_force="ioc"))
            self.orders.append(ctx.buy("S1-E-M1", 5, D("0.25")))  # rests
            self.orders.append(ctx.buy("S1-E-M1", 1, "0.305"))  # off the cent grid
            self.orders.append(ctx.buy("NOPE", 1, "0.30"))  # not in the selection
        if t.ticker == "S1-E-M1" and n == 6:
            self.orders.append(ctx.sell("S1-E-M1", 12, "0.70", time_in_force="ioc"))
        if t.ticker == "S2-E-M2" and n == 1:
            self.orders.append(ctx.buy("S2-E-M2", 4, "0.20", outcome="no", time_in_force="ioc"))
            self.orders.append(ctx.sell("S2-E-M2", 2, "0.25", outcome="no"))  # = YES bid at 0.75, rests


@pytest.fixture(scope="module")
def result(lake):
    return run_backtest(Scripted(), lake, config=BacktestConfig(initial_cash=D("1000")))


def test_fills_prices_and_fees_are_exactly_the_hand_computed_ones(result):
    got = [(f.ticker, f.book_side, f.count, f.yes_price, f.is_taker, f.fee) for f in result.state.fills]
    assert got == [
        # 10 @ 0.30 taker, from the print whose taker bought (an ask at 0.30): 0.07·10·0.3·0.7 = 0.147
        ("S1-E-M1", "bid", 1000, 300_000, True, 14_700_000),
        # buy NO 4 @ 0.20 = sell YES 4 @ 0.80 taker: 0.07·4·0.8·0.2 = 0.0448
        ("S2-E-M2", "ask", 400, 800_000, True, 4_480_000),
        # resting bid 0.25 traded through at 0.24 (3 of 5), maker on a quadratic series: no fee
        ("S1-E-M1", "bid", 300, 250_000, False, 0),
        # resting YES bid 0.75 traded through at 0.74: maker fee 0.0175·2·0.75·0.25 = 0.0065625 → 0.0066
        ("S2-E-M2", "bid", 200, 750_000, False, 660_000),
        # the rest of the 0.25 bid at 0.20
        ("S1-E-M1", "bid", 200, 250_000, False, 0),
        # sell 12 IOC at 0.70 finds only the 8 the seller's print showed at the bid: 0.07·8·0.7·0.3 = 0.1176
        ("S1-E-M1", "ask", 800, 700_000, True, 11_760_000),
    ]


def test_at_price_trade_does_not_fill_under_the_through_queue_model(result):
    # the 0.25 trade at minute 10 touched the resting bid but did not fill it
    assert [f.ts for f in result.state.fills if f.yes_price == 250_000][0] == int(
        at(15).timestamp()
    ) * 1_000_000


def test_rejections_and_ioc_remainders(result):
    orders = result.state.orders
    statuses = [(o.status, o.reason and o.reason.split(" ")[0]) for o in orders]
    assert statuses == [
        ("filled", None),
        ("filled", None),
        ("rejected", "price"),
        ("rejected", "unknown"),
        ("filled", None),
        ("filled", None),
        ("canceled", "ioc"),
    ]
    assert orders[2].reason == "price off the market's tick grid (0.305)"
    assert result.metrics.n_rejected == 2


def test_pnl_after_settlement(result):
    by = {m.ticker: m for m in result.markets}
    m1, m2 = by["S1-E-M1"], by["S2-E-M2"]
    # M1: FIFO sell 8 of the 0.30 lot at 0.70 = 3.20; settle yes: 2·0.70 + 5·0.75 = 5.15
    assert (m1.realized, m1.fees, m1.pnl) == (D("8.35"), D("0.2646"), D("8.0854"))
    assert m1.position == 0 and m1.settled and m1.settlement_value == D("1")
    # M2: short 4 @ 0.80, buy back 2 @ 0.75 = +0.10; settle no: 2·0.80 = 1.60
    assert (m2.realized, m2.fees, m2.pnl) == (D("1.7"), D("0.0514"), D("1.6486"))
    m = result.metrics
    assert m.pnl == D("9.734") and m.final_cash == D("1009.734") and m.final_equity == m.final_cash
    assert m.fees_paid == D("0.316")
    assert m.n_fills == 6 and m.hit_rate == 1.0
    # notional: 3.00 + 3.20 + 0.75 + 1.50 + 0.50 + 5.60
    assert m.traded_notional == D("14.55")
    assert m.return_on_capital == pytest.approx(0.009734)
    assert [s.ticker for s in result.state.settlements] == ["S1-E-M1", "S2-E-M2"]


def test_cash_path_follows_the_collateral_model(result):
    cash = [f.cash_after for f in result.state.fills]
    # 1000 − 3.00 − 0.147; − 0.80 − 0.0448; − 0.75; + 0.50 − 0.0066; − 0.50; + 5.60 − 0.1176
    expected = [D("996.853"), D("996.0082"), D("995.2582"), D("995.7516"), D("995.2516"), D("1000.734")]
    assert [D(c).scaleb(-8) for c in cash] == expected


def test_results_tables_and_plot(result, tmp_path):
    db = tmp_path / "kalshi.duckdb"
    png = plot_equity(result, tmp_path / "equity.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    write_results(result, db, plot_path=png)
    con = duckdb.connect(str(db), read_only=True)
    run = con.execute(
        "select strategy, pnl_dollars, fees_paid_dollars, n_fills, n_rejected, plot_path "
        "from bt_runs where run_id = ?",
        [result.run_id],
    ).fetchone()
    assert run == ("scripted", D("9.734"), D("0.316"), 6, 2, str(png))
    fees = con.execute(
        "select sum(fee_cost), typeof(sum(fee_cost)) from bt_fills where run_id = ?", [result.run_id]
    ).fetchone()
    assert fees[0] == D("0.316") and fees[1].startswith("DECIMAL")
    pos = dict(
        con.execute(
            "select ticker, pnl_dollars from bt_positions where run_id = ?", [result.run_id]
        ).fetchall()
    )
    assert pos == {"S1-E-M1": D("8.0854"), "S2-E-M2": D("1.6486")}
    last = con.execute(
        "select equity_dollars from bt_equity where run_id = ? order by seq desc limit 1", [result.run_id]
    ).fetchone()[0]
    assert last == D("1009.734")
    con.close()
