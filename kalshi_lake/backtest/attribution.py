"""Daily P&L of a finished run, per market and per event: the units a clustered bootstrap resamples.

The engine keeps one equity curve for the whole account (``RunState.daily``). This module rebuilds the same
accounting market by market from the run's own record, so the account's daily P&L is split exactly into the
markets (and events) that made it:

* cash of a market = Σ over its fills of (the collateral cash of the fill, ``MarketBook.apply``) − fee, plus
  its settlement payout;
* value of a market at a cut-off = its position at the mark the engine used: the last trade price before the
  cut-off (block trades included), else the first fill's price; after settlement nothing;
* cumulative P&L at a cut-off = cash + value; a day's P&L = the difference between consecutive cut-offs.

Cut-offs are the engine's: every UTC day end of ``RunState.daily`` (events strictly before it) and the end of
the run (every event). Σ over markets + initial cash equals the engine's daily equity exactly (a test pins it).
With order latency the engine may book an order that arrives just after midnight into the day before; this
module books every fill at its own time.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from kalshi_lake.backtest.data import ReplayData
from kalshi_lake.backtest.engine import RunState
from kalshi_lake.backtest.portfolio import MarketBook


@dataclass(frozen=True)
class DailyPnl:
    """Daily P&L (money units, 1e-8 $) per cluster over the run's cut-offs."""

    cutoffs: list[int]  # µs; the last is the end of the run
    clusters: list[str]  # event tickers (a market without one is its own cluster)
    pnl: list[list[int]]  # [cluster][day]
    initial_cash: int

    def total(self) -> list[int]:
        return [sum(col) for col in zip(*self.pnl, strict=True)] if self.pnl else [0] * len(self.cutoffs)


def _last_prices(data: ReplayData, markets: set[int], cutoffs: list[int]) -> dict[int, list[int | None]]:
    """Per market: the last trade price before each cut-off (the final cut-off includes its own time)."""
    out: dict[int, list[int | None]] = {}
    t = data.trades
    if not t.num_rows or not markets:
        return {mi: [None] * len(cutoffs) for mi in markets}
    ts = np.asarray(t.column("ts").to_numpy(zero_copy_only=False))
    mk = np.asarray(t.column("market").to_numpy(zero_copy_only=False))
    px = np.asarray(t.column("price").to_numpy(zero_copy_only=False))
    for mi in markets:
        sel = mk == mi
        mts, mpx = ts[sel], px[sel]  # already in time order
        row: list[int | None] = []
        for k, cut in enumerate(cutoffs):
            last = k == len(cutoffs) - 1
            n = int(np.searchsorted(mts, cut, side="right" if last else "left"))
            row.append(int(mpx[n - 1]) if n else None)
        out[mi] = row
    return out


def market_daily_pnl(state: RunState, data: ReplayData) -> tuple[list[int], dict[int, list[int]]]:
    """(cut-offs, {market index: daily P&L in money units}) for every market with a fill."""
    cutoffs = [ts for ts, _eq in state.daily]
    index = {m.ticker: i for i, m in enumerate(state.infos)}
    fills: dict[int, list] = {}
    for f in state.fills:
        fills.setdefault(index[f.ticker], []).append(f)
    settles = {index[s.ticker]: s for s in state.settlements}
    marks = _last_prices(data, set(fills), cutoffs)
    out: dict[int, list[int]] = {}
    for mi, mf in fills.items():
        book = MarketBook(mi, state.infos[mi].ticker, None, None, None)
        # (time, order, action): fills before a settlement at the same time, as the engine replays them
        steps = [(f.ts, 0, f) for f in mf]
        s = settles.get(mi)
        if s is not None:
            steps.append((s.ts, 1, s))
        steps.sort(key=lambda x: (x[0], x[1], getattr(x[2], "seq", 0)))
        times = [x[0] for x in steps]
        first_ts, first_price = mf[0].ts, mf[0].yes_price
        cash, j, prev, daily = 0, 0, 0, []
        for k, cut in enumerate(cutoffs):
            last = k == len(cutoffs) - 1
            upto = bisect_right(times, cut) if last else bisect_left(times, cut)
            while j < upto:
                _ts, kind, ev = steps[j]
                if kind == 0:
                    delta = 1 if ev.book_side == "bid" else -1
                    c, _realized = book.apply(delta, ev.count, ev.yes_price)
                    cash += c - ev.fee
                else:
                    payout, _realized = book.settle(ev.value)
                    cash += payout
                j += 1
            mark = marks[mi][k]
            if mark is None and (first_ts <= cut if last else first_ts < cut):
                mark = first_price  # the engine marks at the first fill until the market trades
            value = book.value_at(mark) if (book.pos and mark is not None) else 0
            cum = cash + value
            daily.append(cum - prev)
            prev = cum
        out[mi] = daily
    return cutoffs, out


def event_daily_pnl(state: RunState, data: ReplayData) -> DailyPnl:
    """Daily P&L per event, every replayed event included (an event never traded is a row of zeros: it was
    an opportunity too, and a resample may draw it)."""
    cutoffs, per_market = market_daily_pnl(state, data)
    order: dict[str, int] = {}
    for m in state.infos:
        order.setdefault(m.event_ticker or m.ticker, len(order))
    rows = [[0] * len(cutoffs) for _ in order]
    for mi, daily in per_market.items():
        m = state.infos[mi]
        row = rows[order[m.event_ticker or m.ticker]]
        for d, v in enumerate(daily):
            row[d] += v
    return DailyPnl(cutoffs, list(order), rows, state.initial_cash)
