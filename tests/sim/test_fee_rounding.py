"""Kalshi's fee rounding (docs "Fee Rounding", current version: six-decimal fees, balance grid $0.0001 direct /
$0.01 non-direct, per-order accumulator): the rule on the docs' own worked examples, then end to end against the
local exchange (orders placed with the project client, fills and balance read back), and the backtester charging
the same order the same fees. Every expected value is computed by hand in the comments."""

from __future__ import annotations

import math
import uuid
from decimal import Decimal as D

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.settings import Settings
from kalshi_lake.backtest import BacktestConfig, run_backtest
from kalshi_lake.backtest import fees as bt_fees
from kalshi_lake.backtest.money import units_to_dollars
from kalshi_sim.fees import DIRECT_PRECISION, NON_DIRECT_PRECISION, round_fill
from tests.backtest.lakegen import book_rows, trade
from tests.backtest.test_fill_model import OnNth, at, make_lake

CENT, CENTICENT = NON_DIRECT_PRECISION, DIRECT_PRECISION  # micro-dollars


def _run(fills, precision, rounding=round_fill):
    """[(revenue, trade fee)] of one order's fills → [(rounding, rebate, net, balance change)]."""
    acc, out = 0, []
    for revenue, fee in fills:
        parts, acc = rounding(revenue, fee, precision, acc)
        out.append((parts.rounding, parts.rebate, parts.net, revenue - parts.net))
    return out


def test_the_docs_worked_examples():
    # "FCM-cleared fill": buy, revenue −$0.055, model fee $0.00363825 → trade fee $0.003639; −$0.058639 floors to
    # −$0.06; rounding $0.001361; trade + rounding = $0.005
    (parts, acc) = round_fill(-55_000, 3_639, CENT, 0)
    assert (parts.trade, parts.rounding, parts.rebate, parts.net, parts.balance_change) == (
        3_639,
        1_361,
        0,
        5_000,
        -60_000,
    )
    assert acc == 1_361
    # "Accumulator across fills": each fill adds $0.004 (revenue −$0.046, trade fee $0.01 → −$0.056 → −$0.06), so
    # the accumulator runs $0.004, $0.008, $0.012 → a $0.010 rebate on fill 3, $0.002 carried forward
    acc, rebates = 0, []
    for _ in range(3):
        parts, acc = round_fill(-46_000, 10_000, CENT, acc)
        assert parts.rounding == 4_000
        rebates.append(parts.rebate)
    assert rebates == [0, 0, 10_000] and acc == 2_000


def test_the_rebate_is_capped_so_a_fill_never_has_a_negative_net_fee():
    # 0.30 at $0.17, non-direct: revenue −$0.051, trade fee ceil_6dp(0.07·0.3·0.17·0.83 = 0.0029631) = $0.002964;
    # −$0.053964 → −$0.06: rounding $0.006036, net $0.009 each. The accumulator reaches $0.012072 on fill 2 and
    # $0.018108 on fill 3, but a $0.01 rebate would make the fill's net fee negative: none is paid
    got = _run([(-51_000, 2_964)] * 3, CENT)
    assert got == [(6_036, 0, 9_000, -60_000)] * 3
    assert all(net >= 0 for _, _, net, _ in got)
    # a direct member's grid ($0.0001) rebates in $0.0001 steps: −$0.053964 → −$0.0540, rounding $0.000036;
    # the accumulator reaches $0.000108 on fill 3 → a $0.0001 rebate
    got = _run([(-51_000, 2_964)] * 3, CENTICENT)
    assert got == [(36, 0, 3_000, -54_000), (36, 0, 3_000, -54_000), (36, 100, 2_900, -53_900)]


def test_the_backtester_applies_the_same_rule():
    # the backtester's round_fill (money units of 1e-8 $ = 100 per micro-dollar) agrees with the exchange's
    cases = [(-51_000, 2_964), (-208_000, 12_231), (-221_000, 12_841), (-234_000, 13_432), (55_000, 3_639)]
    for precision, bt_precision in (
        (CENT, bt_fees.NON_DIRECT_PRECISION_UNITS),
        (CENTICENT, bt_fees.DIRECT_PRECISION_UNITS),
    ):
        ours = _run(cases, precision)
        theirs = _run([(r * 100, f * 100) for r, f in cases], bt_precision, bt_fees.round_fill)
        assert [tuple(x * 100 for x in row) for row in ours] == theirs
    with pytest.raises(ValueError):
        round_fill(-1, -1, CENT, 0)


# --- end to end ----------------------------------------------------------------------------------------------------
# B rests three asks of 1.30 contracts at $0.16, $0.17 and $0.18 inside a KXBTC market's spread (quadratic × 1);
# A buys 3.90 up to $0.18, immediate-or-cancel: one order, three taker fills. Model fees (0.07 · 1.3 · P · (1−P)):
#   $0.16: 0.0122304 → trade $0.012231, revenue −$0.208 → −$0.220231
#   $0.17: 0.0128401 → trade $0.012841, revenue −$0.221 → −$0.233841
#   $0.18: 0.0134316 → trade $0.013432, revenue −$0.234 → −$0.247432
# non-direct ($0.01 grid): floors −$0.23 / −$0.24 / −$0.25; rounding 0.009769 / 0.006159 / 0.002568; the accumulator
#   0.009769 → 0.015928 (rebate $0.01, fill 2's net 0.019 − 0.01) → 0.005928 + 0.002568; net fees 0.022 / 0.009 /
#   0.016 = $0.047; the balance moves −$0.23 −$0.23 −$0.25 = −$0.71 (one 3.90 fill would cost the same: 0.07·3.9·…
#   = 0.038521 → −0.701521 → −$0.71)
# direct ($0.0001 grid): floors −$0.2203 / −$0.2339 / −$0.2475; rounding 0.000069 / 0.000059 / 0.000068; the
#   accumulator 0.000069 → 0.000128 (rebate $0.0001) → 0.000028 + 0.000068 = 0.000096; net fees 0.0123 / 0.0128 /
#   0.0135 = $0.0386; the balance moves −$0.7016 (one 3.90 fill: −0.701521 → −$0.7016)
LEVELS = ("0.1600", "0.1700", "0.1800")
NON_DIRECT = (["0.022000", "0.009000", "0.016000"], D("0.047"), D("-0.71"))
DIRECT = (["0.012300", "0.012800", "0.013500"], D("0.0386"), D("-0.7016"))


def _client(acct, tmp_path) -> KalshiClient:
    return KalshiClient(Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path))))


def _body(ticker, side, count, price, tif):
    return {
        "ticker": ticker,
        "side": side,
        "count": count,
        "price": price,
        "time_in_force": tif,
        "self_trade_prevention_type": "taker_at_cross",
        "client_order_id": str(uuid.uuid4()),
    }


def _market(c) -> str:
    for m in c.get_markets(status="open", series_ticker="KXBTC"):
        if D(m["yes_bid_dollars"]) < D("0.16") and D(m["yes_ask_dollars"]) > D("0.18"):
            return m["ticker"]
    raise AssertionError("no open KXBTC market whose spread holds $0.16–$0.18")


def _buy_through_three_asks(maker, taker, tmp_path):
    """B rests the three asks, A takes them; returns (A's fills of the order, the order, balance before/after)."""
    with _client(maker, tmp_path) as b, _client(taker, tmp_path) as a:
        ticker = _market(a)
        series = a.get("/series/KXBTC")["series"]
        assert (series["fee_type"], series["fee_multiplier"]) == ("quadratic", 1)  # the terms computed with
        for price in LEVELS:
            b.post("/portfolio/events/orders", _body(ticker, "ask", "1.30", price, "good_till_canceled"))
        before = a.get_balance()
        out = a.post(
            "/portfolio/events/orders", _body(ticker, "bid", "3.90", "0.1800", "immediate_or_cancel")
        )
        fills = sorted(a.get_fills(order_id=out["order_id"]), key=lambda f: f["yes_price_dollars"])
        return fills, a.get_order(out["order_id"]), before, a.get_balance()


@pytest.mark.parametrize(("direct", "expected"), [(False, NON_DIRECT), (True, DIRECT)])
def test_an_order_with_three_fills_pays_the_rounded_fees_and_the_accumulator_rebate(
    fresh_exchange, tmp_path, direct, expected
):
    fee_costs, total, balance_change = expected
    taker = fresh_exchange.create_account(balance_cents=100_000, direct_member=direct)
    maker = fresh_exchange.create_account(balance_cents=100_000)
    fills, order, before, after = _buy_through_three_asks(maker, taker, tmp_path)
    assert [(f["yes_price_dollars"], f["count_fp"], f["is_taker"]) for f in fills] == [
        (p, "1.30", True) for p in LEVELS
    ]
    assert [f["fee_cost"] for f in fills] == fee_costs
    order = order.get("order", order)
    assert D(order["taker_fees_dollars"]) == total and D(order["maker_fees_dollars"]) == 0
    assert D(after["balance_dollars"]) - D(before["balance_dollars"]) == balance_change
    assert after["balance"] - before["balance"] == math.floor(balance_change * 100)  # cents, floored
    grid = D("0.01") if not direct else D("0.0001")
    assert D(after["balance_dollars"]) % grid == 0  # the balance stays on the member's grid


def test_the_backtester_charges_the_same_order_the_same_fees(fresh_exchange, tmp_path):
    """The same three-level buy on a backtest lake (series quadratic × 1, like KXBTC): each backtest fill's fee
    equals the exchange's fee_cost, for a non-direct and a direct member."""
    maker = fresh_exchange.create_account(balance_cents=100_000)
    sim = {}
    for direct in (False, True):
        taker = fresh_exchange.create_account(balance_cents=100_000, direct_member=direct)
        sim[direct], *_ = _buy_through_three_asks(maker, taker, tmp_path / "sim")
    lake = make_lake(
        tmp_path / "lake",
        [trade("S-E-M", at(1), "0.15", 1, "ask")],
        books=[
            book_rows("S-E-M", at(1), [("0.15", 10)], [("0.84", "1.30"), ("0.83", "1.30"), ("0.82", "1.30")])
        ],
    )
    for direct, (fee_costs, total, _) in ((False, NON_DIRECT), (True, DIRECT)):
        s = OnNth({1: [("buy", "3.90", "0.18", "yes", "ioc")]})
        r = run_backtest(s, lake, config=BacktestConfig(direct_member=direct))
        got = [(f.yes_price, f.count, units_to_dollars(f.fee)) for f in r.state.fills]
        assert got == [(p, 130, D(c)) for p, c in zip((160_000, 170_000, 180_000), fee_costs, strict=True)]
        assert sum(f.fee for f in r.state.fills) == int(total * 100_000_000)
        assert [units_to_dollars(f.fee) for f in r.state.fills] == [D(f["fee_cost"]) for f in sim[direct]]


def test_a_scalar_settlement_is_paid_rounded_down_to_the_cent(fresh_exchange, tmp_path):
    """1.01 contracts of a scalar market settling at v cents are worth 1.01·v cents: Kalshi pays the whole cents
    (docs "Market Settlement": the payout is rounded to whole cents, the rest is a settlement fee)."""
    acct = fresh_exchange.create_account(balance_cents=100_000)
    with _client(acct, tmp_path) as c:
        m = None
        for _ in range(60):  # the weekly scalar market opens later in the small world
            m = next(
                (
                    m
                    for m in c.get_markets(status="open", series_ticker="KXPAYROLLS")
                    if D("0.05") <= D(m["yes_ask_dollars"]) <= D("0.95")
                ),
                None,
            )
            if m is not None:
                break
            fresh_exchange.advance(6 * 3600)
        assert m is not None, "no open KXPAYROLLS market"
        c.post(
            "/portfolio/events/orders",
            _body(m["ticker"], "bid", "1.01", m["yes_ask_dollars"], "immediate_or_cancel"),
        )
        (pos,) = [p for p in c.get_positions() if p["ticker"] == m["ticker"]]
        held = D(pos["position_fp"])
        assert held > 0
        before = D(c.get_balance()["balance_dollars"])
        for _ in range(40):
            fresh_exchange.advance(6 * 3600)
            got = [s for s in c.get_settlements() if s["ticker"] == m["ticker"]]
            if got:
                break
        (s,) = got
        after = D(c.get_balance()["balance_dollars"])
    exact = held * s["value"]  # cents
    assert s["market_result"] == "scalar"
    assert s["revenue"] == math.floor(exact)  # rounded down to the cent
    assert after - before == D(s["revenue"]) / 100  # the balance gets the rounded payout, nothing more
    if exact != int(exact):
        assert after - before < exact / 100  # the settlement fee: what the rounding kept
