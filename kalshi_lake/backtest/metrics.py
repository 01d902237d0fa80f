"""Metrics of a finished run. Money stays exact (``Decimal``); ratios (return, Sharpe, hit rate, turnover) are
plain floats because they are statistics, not amounts.

Definitions:
* ``pnl`` = final equity − initial cash (after fees; open positions marked at their last trade price).
* per market: ``realized`` (FIFO, before fees, incl. settlement), ``unrealized`` (open lots at the mark),
  ``fees``, ``pnl`` = realized + unrealized − fees.
* ``return_on_capital`` = pnl / initial cash.
* ``max_drawdown`` = largest peak-to-trough fall of the equity curve (every fill/settlement/day end), in
  dollars and as a fraction of the peak.
* ``sharpe`` = mean / stdev (sample) of daily equity returns × √365 (Kalshi trades every day); None with
  fewer than two daily returns or zero variance.
* ``hit_rate`` = share of traded markets whose pnl after fees is > 0.
* ``turnover`` = traded notional (Σ count × price) / initial cash.
* ``refusals`` = how many orders got nothing, by reason: rejected on submission, unfilled at arrival (no fresh
  quote on the side taken, a quote that did not reach the limit or was used up), cancelled for cash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from kalshi_lake.backtest.engine import RunState
from kalshi_lake.backtest.money import centi_to_contracts, micros_to_dollars, units_to_dollars


@dataclass(frozen=True)
class MarketResult:
    ticker: str
    position: Decimal
    mark: Decimal | None
    realized: Decimal
    unrealized: Decimal
    fees: Decimal
    pnl: Decimal
    traded: Decimal
    fills: int
    settled: bool
    settlement_value: Decimal | None


@dataclass(frozen=True)
class Metrics:
    initial_cash: Decimal
    final_cash: Decimal
    final_equity: Decimal
    pnl: Decimal
    fees_paid: Decimal
    traded_notional: Decimal
    return_on_capital: float
    max_drawdown: Decimal
    max_drawdown_pct: float
    sharpe: float | None
    hit_rate: float | None
    turnover: float
    n_orders: int
    n_fills: int
    n_rejected: int
    n_markets_traded: int
    events: int
    seconds: float
    refusals: dict[str, int] | None = (
        None  # why orders got nothing, by reason (rejections, no fresh quote ...)
    )

    @property
    def events_per_minute(self) -> float:
        return self.events / self.seconds * 60 if self.seconds > 0 else float("inf")


def market_results(state: RunState) -> list[MarketResult]:
    out = []
    for b in state.markets:
        if not b.n_fills:
            continue
        unrealized = 0
        if b.pos and b.mark is not None:
            unrealized = b.value_at(b.mark) - b.cost_basis()
        pnl = b.realized + unrealized - b.fees_paid
        out.append(
            MarketResult(
                b.ticker,
                centi_to_contracts(b.pos),
                micros_to_dollars(b.mark) if b.mark is not None else None,
                units_to_dollars(b.realized),
                units_to_dollars(unrealized),
                units_to_dollars(b.fees_paid),
                units_to_dollars(pnl),
                units_to_dollars(b.traded),
                b.n_fills,
                b.settled,
                micros_to_dollars(b.settle_value) if b.settle_value is not None else None,
            )
        )
    return out


def _drawdown(equity: list[tuple[int, int, int]]) -> tuple[int, float]:
    peak = None
    worst, worst_pct = 0, 0.0
    for _ts, cash, value in equity:
        eq = cash + value
        if peak is None or eq > peak:
            peak = eq
        dd = peak - eq
        if dd > worst:
            worst = dd
            worst_pct = dd / peak if peak > 0 else 0.0
    return worst, worst_pct


def _sharpe(initial: int, daily: list[tuple[int, int]]) -> float | None:
    values = [initial] + [eq for _ts, eq in daily]
    rets = [(b - a) / a for a, b in zip(values, values[1:], strict=False) if a > 0]
    if len(rets) < 2:
        return None
    mean = sum(rets) / len(rets)
    var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
    if var <= 0:
        return None
    return mean / math.sqrt(var) * math.sqrt(365)


def compute_metrics(state: RunState) -> Metrics:
    per_market = market_results(state)
    final_equity = state.cash + sum(b.value for b in state.markets)
    pnl = final_equity - state.initial_cash
    fees = sum(b.fees_paid for b in state.markets)
    traded = sum(b.traded for b in state.markets)
    dd, dd_pct = _drawdown(state.equity)
    winners = sum(1 for m in per_market if m.pnl > 0)
    return Metrics(
        initial_cash=units_to_dollars(state.initial_cash),
        final_cash=units_to_dollars(state.cash),
        final_equity=units_to_dollars(final_equity),
        pnl=units_to_dollars(pnl),
        fees_paid=units_to_dollars(fees),
        traded_notional=units_to_dollars(traded),
        return_on_capital=pnl / state.initial_cash,
        max_drawdown=units_to_dollars(dd),
        max_drawdown_pct=dd_pct,
        sharpe=_sharpe(state.initial_cash, state.daily),
        hit_rate=winners / len(per_market) if per_market else None,
        turnover=traded / state.initial_cash,
        n_orders=len(state.orders),
        n_fills=len(state.fills),
        n_rejected=sum(1 for o in state.orders if o.status == "rejected"),
        n_markets_traded=len(per_market),
        events=state.events,
        seconds=state.seconds,
        refusals=dict(sorted((state.refusals or {}).items(), key=lambda kv: (-kv[1], kv[0]))),
    )
