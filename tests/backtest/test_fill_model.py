"""Fill model, fees per series, grid, cash and settlement edge cases — each on a tiny lake built here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from kalshi_lake.backtest import BacktestConfig, BacktestError, Strategy, run_backtest
from kalshi_lake.backtest.fees import FeeSchedule, fee_dollars
from kalshi_lake.backtest.money import dollars_to_micros, on_grid, parse_price_ranges
from tests.backtest.lakegen import book_rows, market, trade, write_stream

T0 = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
DECI = '[{"start": "0.0000", "end": "0.1000", "step": "0.0010"}, {"start": "0.1000", "end": "0.9000", "step": "0.0100"}, {"start": "0.9000", "end": "1.0000", "step": "0.0010"}]'


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_lake(
    root,
    trades,
    *,
    books=(),
    fee_type="quadratic",
    mult="1",
    result="yes",
    value=D("1"),
    grid=None,
    waiver=None,
    event_override=None,
):
    write_stream(root, "series", [{"ticker": "S", "fee_type": fee_type, "fee_multiplier": D(mult)}])
    ev = {"event_ticker": "S-E", "series_ticker": "S"}
    if event_override:
        ev.update(event_override)
    write_stream(root, "events", [ev])
    kw = {"grid": grid} if grid else {}
    write_stream(
        root,
        "markets",
        [
            market(
                "S-E-M",
                "S-E",
                close=at(120),
                result=result,
                value=value,
                settle=at(130) if result else None,
                waiver=waiver,
                **kw,
            )
        ],
    )
    write_stream(root, "trades", list(trades))
    if books:
        write_stream(root, "orderbook_snapshots", [r for b in books for r in b])
    return root


class OnNth(Strategy):
    """Submits the given requests when it sees the n-th trade (1-based); records fills."""

    name = "on_nth"

    def __init__(self, plan: dict[int, list[tuple]], **params):
        super().__init__(**params)
        self.plan = plan
        self.n = 0
        self.orders = []

    def on_trade(self, ctx, t):
        self.n += 1
        for kind, *args in self.plan.get(self.n, []):
            self.orders.append(getattr(ctx, kind)("S-E-M", *args))


def fills(result):
    return [(f.book_side, f.count // 100, f.yes_price, f.is_taker) for f in result.state.fills]


@pytest.mark.parametrize(
    ("queue", "expected"),
    [
        ("through", [("bid", 2, 400_000, False)]),  # only the 0.39 trade fills it
        ("front", [("bid", 5, 400_000, False), ("bid", 2, 400_000, False)]),
        ("back", [("bid", 2, 400_000, False), ("bid", 2, 400_000, False)]),  # 3 displayed ahead at 0.40
    ],
)
def test_queue_assumptions(tmp_path, queue, expected):
    lake = make_lake(
        tmp_path,
        [
            trade("S-E-M", at(0), "0.45", 1, "bid"),
            trade("S-E-M", at(2), "0.40", 5, "ask"),  # at our price, taker sold into the bids
            trade("S-E-M", at(3), "0.40", 5, "bid"),  # at our price but the taker bought: never fills a bid
            trade("S-E-M", at(4), "0.39", 2, "ask"),  # through
        ],
        books=[book_rows("S-E-M", at(1), [("0.40", 3), ("0.39", 10)], [("0.55", 10)])],
    )

    class Later(OnNth):
        def on_book(self, ctx, book):
            self.orders.append(ctx.buy("S-E-M", 7, "0.40"))

    s = Later({})
    r = run_backtest(s, lake, config=BacktestConfig(queue=queue))
    assert fills(r) == expected


def test_marketable_order_walks_the_book_and_our_fills_use_it_up(tmp_path):
    lake = make_lake(
        tmp_path,
        [
            trade("S-E-M", at(1), "0.50", 1, "bid"),
            trade("S-E-M", at(1) + timedelta(seconds=2), "0.50", 1, "bid"),
        ],
        books=[book_rows("S-E-M", at(1), [("0.48", 10)], [("0.50", 4), ("0.49", 3), ("0.40", 50)])],
    )
    # YES asks: 0.50 × 4, 0.51 × 3, 0.60 × 50. Buy 10 up to 0.55 → 4 @ .50, 3 @ .51, rest (3) IOC-cancelled;
    # the second order finds that liquidity gone (same snapshot) and is cancelled.
    s = OnNth({1: [("buy", 10, "0.55", "yes", "ioc")], 2: [("buy", 2, "0.55", "yes", "ioc")]})
    r = run_backtest(s, lake)
    assert fills(r) == [("bid", 4, 500_000, True), ("bid", 3, 510_000, True)]
    assert [o.status for o in s.orders] == ["canceled", "canceled"]
    assert s.orders[0].filled == 700
    # selling into the YES bids: 0.48 × 10
    s2 = OnNth({1: [("sell", 2, "0.45", "yes", "ioc")]})
    assert fills(run_backtest(s2, lake)) == [("ask", 2, 480_000, True)]


def test_stale_book_falls_back_to_the_last_trade(tmp_path):
    lake = make_lake(
        tmp_path,
        [trade("S-E-M", at(30), "0.50", 3, "bid")],
        books=[book_rows("S-E-M", at(0), [("0.48", 10)], [("0.50", 10)])],
    )
    s = OnNth({1: [("buy", 5, "0.52", "yes", "gtc")]})
    r = run_backtest(s, lake, config=BacktestConfig(max_quote_age_s=600))  # book is 30 min old
    assert fills(r) == [("bid", 3, 500_000, True)]  # the trade's 3 contracts, the rest rests
    assert s.orders[0].status == "canceled" and s.orders[0].reason == "market settled"


def test_maker_and_taker_fees_follow_the_series_and_event_override(tmp_path):
    plan = {1: [("buy", 10, "0.50", "yes", "ioc"), ("buy", 10, "0.30")]}
    trades = [trade("S-E-M", at(0), "0.50", 10, "bid"), trade("S-E-M", at(1), "0.29", 10, "ask")]
    r = run_backtest(OnNth(plan), make_lake(tmp_path / "a", trades, fee_type="quadratic_with_maker_fees"))
    # taker 0.07·10·.25 = 0.175; maker 0.0175·10·.3·.7 = 0.03675 → 0.0368
    assert [f.fee for f in r.state.fills] == [17_500_000, 3_680_000]
    r = run_backtest(
        OnNth(plan),
        make_lake(
            tmp_path / "b",
            trades,
            fee_type="quadratic_with_maker_fees",
            event_override={"fee_multiplier_override": D("0.5")},
        ),
    )
    # ×0.5: 0.0875; 0.018375 → 0.0184
    assert [f.fee for f in r.state.fills] == [8_750_000, 1_840_000]
    r = run_backtest(
        OnNth(plan), make_lake(tmp_path / "c", trades, fee_type="quadratic_with_combo_maker_fees")
    )
    assert [f.fee for f in r.state.fills] == [17_500_000, 7_350_000]  # 0.035·2.1 = 0.0735
    r = run_backtest(OnNth(plan), make_lake(tmp_path / "d", trades, waiver=at(0.5)))
    assert [f.fee for f in r.state.fills] == [
        0,
        0,
    ]  # taker fill inside the waiver; maker on quadratic is free


def test_fee_rounding_is_up_to_a_hundredth_of_a_cent():
    assert fee_dollars("quadratic", D(1), D(1), D("0.01"), True) == D("0.0007")  # 0.000693
    assert fee_dollars("quadratic", D(1), D("0.01"), D("0.5"), True) == D("0.0002")  # 0.000175
    assert fee_dollars("quadratic", D(1), D(100), D("0.5"), True) == D("1.75")
    assert fee_dollars("flat", D(1), D(1), D("0.5"), True) == D("0.0175")
    assert fee_dollars("quadratic", D(1), D(1), D("0.5"), False) == 0
    with pytest.raises(ValueError, match="fee_type"):
        FeeSchedule("percent")
    with pytest.raises(TypeError):
        FeeSchedule("quadratic", 0.5)  # float multiplier refused


def test_tick_grid_of_tapered_markets():
    grid = parse_price_ranges(DECI)
    assert on_grid(dollars_to_micros("0.055"), grid)  # deci-cent in the tails
    assert not on_grid(dollars_to_micros("0.555"), grid)  # cent grid in the middle
    assert on_grid(dollars_to_micros("0.55"), grid)
    assert not on_grid(0, grid) and not on_grid(1_000_000, grid)
    assert parse_price_ranges(None) == ((0, 1_000_000, 10_000),)


def test_orders_off_grid_closed_or_unaffordable_are_rejected(tmp_path):
    lake = make_lake(
        tmp_path,
        [trade("S-E-M", at(0), "0.05", 1, "bid"), trade("S-E-M", at(125), "0.5", 1, "bid")],
        grid=DECI,
    )
    s = OnNth(
        {
            1: [
                ("buy", 1, "0.055"),
                ("buy", 1, "0.555"),
                ("buy", 1, "0.5", "maybe"),
                ("buy", "0.001", "0.5"),
                ("buy", 5000, "0.5"),
                ("sell", 1, "0.5", "yes", "fok"),
            ],
            2: [("buy", 1, "0.5")],
        }
    )
    r = run_backtest(s, lake, config=BacktestConfig(initial_cash=D("100")))
    reasons = [o.reason for o in s.orders]
    assert s.orders[0].status == "filled"  # 0.055 is on the deci-cent tail grid and crosses the 0.05 trade
    assert "tick grid" in reasons[1]
    assert "outcome" in reasons[2]
    assert "0.01" in reasons[3]
    assert "not enough cash" in reasons[4]
    assert "time_in_force" in reasons[5]
    # trade 2 is after close_time (at 120 min): the market no longer accepts orders
    assert "closed" in reasons[6]
    assert r.metrics.n_rejected == 6


def test_scalar_settlement_pays_the_fraction(tmp_path):
    lake = make_lake(
        tmp_path,
        [trade("S-E-M", at(0), "0.40", 20, "bid")],
        books=[book_rows("S-E-M", at(0), [("0.40", 10)], [("0.60", 20)])],
        result="scalar",
        value=D("0.625"),
    )
    s = OnNth({1: [("buy", 10, "0.40", "yes", "ioc"), ("buy", 5, "0.60", "no", "ioc")]})
    r = run_backtest(s, lake)
    # long 10 @ .40 then buy NO 5 @ .60 = sell YES 5 @ .40 (closes 5, realized 0); settle 5 at 0.625
    (m,) = r.markets
    assert m.realized == D("1.125")  # 5 × (0.625 − 0.40)
    # 0.07·10·.24 ; 0.07·5·.24 ; the settlement fee: 5 × 0.625 = 3.125 is paid rounded down to 3.12
    fees = D("0.168") + D("0.084") + D("0.005")
    assert m.fees == fees and m.pnl == D("1.125") - fees
    assert r.metrics.final_cash == D(1000) + m.pnl


def test_bad_config_is_an_error():
    with pytest.raises(BacktestError, match="queue"):
        BacktestConfig(queue="middle")
    with pytest.raises(BacktestError, match="initial_cash"):
        BacktestConfig(initial_cash=D(0))


def test_resting_orders_reserve_their_collateral(tmp_path):
    lake = make_lake(
        tmp_path, [trade("S-E-M", at(0), "0.50", 100, "bid"), trade("S-E-M", at(1), "0.30", 100, "ask")]
    )
    # both bids would rest (0.40 is below the 0.50 ask): the first sets aside 8.00 of the 10.00, so the second,
    # which needs 8.00 too, is refused at once; the third, a sell of nothing held, needs 0.60 × 5 = 3.00
    s = OnNth({1: [("buy", 20, "0.40"), ("buy", 20, "0.40"), ("sell", 5, "0.40")]})
    r = run_backtest(s, lake, config=BacktestConfig(initial_cash=D("10")))
    assert [o.status for o in s.orders] == ["filled", "rejected", "rejected"]
    assert "not enough cash" in s.orders[1].reason
    assert r.metrics.refusals["rejected: not enough cash for the order at its limit price"] == 2
    assert r.metrics.final_cash >= 0


def test_outcome_comes_from_the_row_that_has_it_even_if_a_later_row_lacks_it(tmp_path):
    lake = make_lake(tmp_path, [trade("S-E-M", at(0), "0.40", 10, "bid")], result="yes", value=D("1"))
    # a later observation without the result (e.g. an older page re-landed with a newer _loaded_at)
    later = market("S-E-M", "S-E", close=at(120), status="active")
    later["_loaded_at"] = datetime(2026, 12, 1, tzinfo=UTC)
    later["updated_time"] = at(200)
    write_stream(tmp_path, "markets", [later], run_id="later")
    r = run_backtest(OnNth({1: [("buy", 10, "0.40", "yes", "ioc")]}), lake)
    assert [s.value for s in r.state.settlements] == [1_000_000]


def test_block_trades_reach_the_strategy_but_do_not_fill_or_provide_liquidity(tmp_path):
    lake = make_lake(
        tmp_path,
        [
            trade("S-E-M", at(0), "0.50", 10, "bid"),
            trade("S-E-M", at(1), "0.30", 500, "ask", block=True),  # through our 0.40 bid, but a block trade
            trade("S-E-M", at(2), "0.39", 4, "ask"),  # through on the book
        ],
    )

    class Watch(OnNth):
        def on_trade(self, ctx, t):
            super().on_trade(ctx, t)
            self.blocks = getattr(self, "blocks", []) + [t.is_block]

    s = Watch({1: [("buy", 5, "0.40")], 2: [("buy", 5, "0.35", "yes", "ioc")]})
    r = run_backtest(s, lake)
    assert s.blocks == [False, True, False]
    assert fills(r) == [
        ("bid", 4, 400_000, False)
    ]  # only the book trade filled the bid; the IOC found nothing
    assert s.orders[1].status == "canceled"


def test_a_market_settled_before_the_window_is_closed_to_orders_and_sends_no_event(tmp_path):
    lake = make_lake(tmp_path, [trade("S-E-M", at(0), "0.40", 10, "bid"), trade("S-E-M", at(200), "0.40", 1)])

    class Settle(OnNth):
        def on_settlement(self, ctx, s):
            raise AssertionError("no settlement event expected")

    s = Settle({1: [("buy", 1, "0.40")]})
    r = run_backtest(s, lake, start=at(150))  # settlement was at 130
    assert r.state.settlements == [] and "settled" in s.orders[0].reason


@pytest.mark.parametrize(("latency_ms", "expected"), [(0, 300_000), (50, 300_000), (200, 350_000)])
def test_latency_delays_when_an_order_meets_the_market(tmp_path, latency_ms, expected):
    lake = make_lake(
        tmp_path,
        [
            trade("S-E-M", at(0), "0.30", 10, "bid"),
            trade("S-E-M", at(0) + timedelta(milliseconds=100), "0.35", 10, "bid"),
            trade("S-E-M", at(0) + timedelta(milliseconds=300), "0.36", 1, "bid"),
        ],
    )
    s = OnNth({1: [("buy", 2, "0.35", "yes", "ioc")]})
    r = run_backtest(s, lake, config=BacktestConfig(latency_ms=latency_ms))
    (fill,) = r.state.fills
    assert fill.yes_price == expected
    assert fill.ts == int(at(0).timestamp()) * 1_000_000 + latency_ms * 1000


@pytest.mark.parametrize(
    ("latency", "filled"), [({}, False), ({"latency_ms": 300}, True), ({"feed_latency_ms": 300}, True)]
)
def test_a_cancel_travels_like_an_order_so_a_resting_order_can_fill_meanwhile(tmp_path, latency, filled):
    t1 = at(1)
    lake = make_lake(
        tmp_path,
        [
            trade("S-E-M", at(0), "0.50", 10, "bid"),
            trade("S-E-M", t1, "0.45", 10, "bid"),  # the strategy cancels on seeing this print
            trade("S-E-M", t1 + timedelta(milliseconds=200), "0.35", 10, "ask"),  # a seller through our bid
        ],
    )

    class PlaceThenCancel(OnNth):
        def on_trade(self, ctx, t):
            super().on_trade(ctx, t)
            if self.n == 2:
                assert ctx.open_orders("S-E-M") == [self.orders[0]]
                assert ctx.cancel(self.orders[0])

    s = PlaceThenCancel({1: [("buy", 2, "0.40")]})
    r = run_backtest(s, lake, config=BacktestConfig(**latency))
    assert bool(r.state.fills) is filled
    assert s.orders[0].status == ("filled" if filled else "canceled")
