"""The public trade tape and per-market time series, stored compactly and pre-serialised.

Trades are appended in time order. Each trade's JSON object is serialised once, on append, into one
growing byte buffer (``rows`` + ``offsets``), so serving a page is slicing and joining bytes — no per
request sorting or dict building. Per market we keep the positions of its trades, their times, the open
interest after each trade, and the history of the best bid/ask (for candlesticks and ``previous_*``).
"""

from __future__ import annotations

import bisect
from array import array

from kalshi_sim import fmt


class MarketSeries:
    """Time series of one market."""

    __slots__ = ("trade_idx", "trade_ts", "oi", "q_ts", "q_bid", "q_ask", "volume", "last_price", "cumvol")

    def __init__(self) -> None:
        self.trade_idx = array("q")   # global tape positions
        self.trade_ts = array("q")    # µs, ascending
        self.oi = array("q")          # open interest (hundredths) after each trade
        self.cumvol = array("q")      # cumulative volume (hundredths) after each trade
        self.q_ts = array("q")        # quote history: time of change
        self.q_bid = array("i")       # best YES bid (pips, 0 = none)
        self.q_ask = array("i")       # best YES ask (pips, 10000 = none)
        self.volume = 0
        self.last_price = 0

    def quote_at(self, t_us: int) -> tuple[int, int]:
        """Best (bid, ask) in force at time t (inclusive); (0, 10000) before any quote."""
        i = bisect.bisect_right(self.q_ts, t_us) - 1
        if i < 0:
            return 0, 10_000
        return self.q_bid[i], self.q_ask[i]

    def record_quote(self, t_us: int, bid: int, ask: int) -> None:
        n = len(self.q_ts)
        if n and self.q_bid[n - 1] == bid and self.q_ask[n - 1] == ask:
            return
        if n and self.q_ts[n - 1] == t_us:
            self.q_bid[n - 1] = bid
            self.q_ask[n - 1] = ask
            return
        self.q_ts.append(t_us)
        self.q_bid.append(bid)
        self.q_ask.append(ask)

    def oi_at(self, t_us: int) -> int:
        i = bisect.bisect_right(self.trade_ts, t_us) - 1
        return self.oi[i] if i >= 0 else 0


class Tape:
    """All public trades, oldest first internally; served newest first."""

    def __init__(self, n_markets: int) -> None:
        self.ts = array("q")
        self.mkt = array("i")
        self.price = array("i")
        self.count = array("q")
        self.offsets = array("q", [0])
        self.rows = bytearray()
        self.series: list[MarketSeries] = [MarketSeries() for _ in range(n_markets)]

    def __len__(self) -> int:
        return len(self.ts)

    def ensure_markets(self, n: int) -> None:
        while len(self.series) < n:
            self.series.append(MarketSeries())

    def append(self, t_us: int, m: int, ticker: str, price: int, count: int, taker_side: str,
               trade_id: str, oi_after: int) -> int:
        """Append one trade (taker_side is the taker's book side: bid = bought YES)."""
        if self.ts and t_us < self.ts[-1]:
            raise ValueError("trades must be appended in time order")
        i = len(self.ts)
        self.ts.append(t_us)
        self.mkt.append(m)
        self.price.append(price)
        self.count.append(count)
        outcome = "yes" if taker_side == "bid" else "no"
        row = (
            f'{{"count_fp":"{fmt.fp(count)}","created_time":"{fmt.ts(t_us)}","is_block_trade":false,'
            f'"no_price_dollars":"{fmt.d4(10_000 - price)}","taker_book_side":"{taker_side}",'
            f'"taker_outcome_side":"{outcome}","taker_side":"{outcome}","ticker":"{ticker}",'
            f'"trade_id":"{trade_id}","yes_price_dollars":"{fmt.d4(price)}"}}'
        ).encode()
        self.rows += row
        self.offsets.append(len(self.rows))
        s = self.series[m]
        s.trade_idx.append(i)
        s.trade_ts.append(t_us)
        s.oi.append(oi_after)
        s.volume += count
        s.cumvol.append(s.volume)
        s.last_price = price
        return i

    def row(self, i: int) -> bytes:
        return bytes(self.rows[self.offsets[i]:self.offsets[i + 1]])

    def rows_desc(self, positions) -> bytes:
        """JSON array body of the given tape positions (already in the wanted order)."""
        rows, off = self.rows, self.offsets
        return b"[" + b",".join([rows[off[i]:off[i + 1]] for i in positions]) + b"]"
