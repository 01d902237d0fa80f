"""Unit checks of the exchange's exact arithmetic and formats (values from the genuine recordings)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from kalshi_sim import fmt
from kalshi_sim.accounts import Position, trade_fee
from kalshi_sim.fees import round_fill
from kalshi_sim.world import on_grid, snap_down, snap_up

REAL = next(
    (
        p / "shared" / "real-data"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "real-data").exists()
    ),
    Path("/nonexistent"),
)


def test_taker_fees_match_the_recorded_fills():
    path = REAL / "fortuna_demo" / "fills__after_taker.json"
    if not path.exists():
        pytest.skip("recordings absent")
    for f in json.loads(path.read_text())["fills"]:
        count = fmt.parse_count(f["count_fp"])
        price = fmt.parse_price(f["yes_price_dollars"])
        # a direct member's single fill: trade fee rounded up to $0.000001, then the rounding fee that puts the
        # balance back on its $0.0001 grid (1 at $0.52: $0.017472 → $0.017500); no accumulator yet, no rebate
        fee, _ = round_fill(-count * price, trade_fee("quadratic", Fraction(1), count, price, True), 100, 0)
        assert fmt.d6(fee.net) == f["fee_cost"]


def test_fee_rules():
    one = Fraction(1)
    assert trade_fee("quadratic", one, 100, 5000, True) == 17_500  # 0.07·0.25 = $0.0175
    assert trade_fee("quadratic", one, 100, 5000, False) == 0  # no maker fee
    # the trade fee rounds up to $0.000001 (docs "Fee Rounding"); it was $0.0001 (4_400) before the current rules
    assert trade_fee("quadratic_with_maker_fees", one, 100, 5000, False) == 4_375
    assert trade_fee("quadratic_with_maker_fees", Fraction(1, 2), 1000, 5000, True) == 87_500
    assert trade_fee("flat", one, 100, 5000, True) == 17_500
    assert trade_fee("quadratic", one, 1, 10, True) == 1  # $0.0000006993 rounds up to $0.000001 (was $0.0001)


def test_formats():
    assert fmt.ts(1_781_159_370_164_956) == "2026-06-11T06:29:30.164956Z"
    assert fmt.ts(1_781_159_370_534_510) == "2026-06-11T06:29:30.53451Z"
    assert fmt.ts(1_781_159_370_000_000) == "2026-06-11T06:29:30Z"
    assert (fmt.d4(5600), fmt.d6(17_500), fmt.fp(1000), fmt.fp(-250)) == (
        "0.5600",
        "0.017500",
        "10.00",
        "-2.50",
    )
    assert (
        fmt.parse_count("10") == 1000 and fmt.parse_count("2.5") == 250 and fmt.parse_count("1.234") is None
    )
    assert (
        fmt.parse_price("0.56") == 5600
        and fmt.parse_price("0.0015") == 15
        and fmt.parse_price("0.00001") is None
    )
    assert fmt.parse_count(10) is None and fmt.parse_price("-0.5") is None


def test_tick_grids():
    assert on_grid("linear_cent", 5600) and not on_grid("linear_cent", 5650)
    assert on_grid("tapered_deci_cent", 15) is False and on_grid("tapered_deci_cent", 20)
    assert on_grid("tapered_deci_cent", 9_990) and not on_grid("tapered_deci_cent", 5_010)
    assert not on_grid("deci_cent", 0) and not on_grid("deci_cent", 10_000)
    assert snap_down("tapered_deci_cent", 1_055) == 1_000 and snap_up("tapered_deci_cent", 1_055) == 1_100
    assert snap_up("tapered_deci_cent", 935) == 940


def test_fifo_position_accounting():
    p = Position()
    assert p.apply_fill("bid", 1000, 4000) == -400_000_000 // 100  # buy 10 YES at 0.40 → −$4.00
    assert (
        p.apply_fill("ask", 400, 6000) == -400 * 4000 + 400 * 10_000
    )  # sell 4 at 0.60: pays 0.40·4, redeems 4
    assert p.realized == 400 * 2000 and p.net == 600
    assert p.exposure() == 600 * 4000
    payout, yes_c, *_ = p.settle(10_000)
    assert payout == 600 * 10_000 and yes_c == 600 and p.realized == 400 * 2000 + 600 * 6000
