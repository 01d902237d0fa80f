"""Metrics on hand-made equity paths, and the integer money helpers."""

from __future__ import annotations

import math
from decimal import Decimal as D

import pytest

from kalshi_lake.backtest.metrics import _drawdown, _sharpe
from kalshi_lake.backtest.money import (
    centi_to_contracts,
    contracts_to_centi,
    dollars_to_micros,
    dollars_to_units,
    micros_to_dollars,
    units_to_dollars,
)

U = 100_000_000  # money units per dollar


def test_max_drawdown_is_the_largest_peak_to_trough_fall():
    path = [(0, 1000 * U, 0), (1, 1100 * U, 0), (2, 900 * U, 50 * U), (3, 1200 * U, 0), (4, 1080 * U, 0)]
    dd, pct = _drawdown(path)
    assert dd == 150 * U  # 1100 → 950
    assert pct == pytest.approx(150 / 1100)


def test_sharpe_on_daily_equity():
    daily = [(1, 1010 * U), (2, 999_900_000_00), (3, 1020 * U)]
    rets = [1010 / 1000 - 1, 999.9 / 1010 - 1, 1020 / 999.9 - 1]
    mean = sum(rets) / 3
    sd = math.sqrt(sum((r - mean) ** 2 for r in rets) / 2)
    assert _sharpe(1000 * U, daily) == pytest.approx(mean / sd * math.sqrt(365))
    assert _sharpe(1000 * U, [(1, 1000 * U)]) is None  # one return: undefined
    assert _sharpe(1000 * U, [(1, 1000 * U), (2, 1000 * U)]) is None  # no variance


def test_money_conversions_are_exact_and_refuse_floats():
    assert dollars_to_micros("0.5600") == 560_000 and micros_to_dollars(560_000) == D("0.56")
    assert contracts_to_centi(D("10.5")) == 1050 and centi_to_contracts(1050) == D("10.50")
    assert units_to_dollars(dollars_to_units("1234.56789012")) == D("1234.56789012")
    with pytest.raises(TypeError):
        dollars_to_micros(0.56)
    with pytest.raises(ValueError, match="6 decimal places"):
        dollars_to_micros("0.1234567")
    with pytest.raises(ValueError, match="0.01 contract"):
        contracts_to_centi("0.001")
    with pytest.raises(ValueError, match="not a number"):
        contracts_to_centi("ten")
