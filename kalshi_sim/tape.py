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
        self.trade_idx = array("q")  # global tape positions
        self.trade_ts = array("q")  # µs, ascending
        self.oi = array("q")  # open interest (hundredths) after each trade
        self.cumvol = array("q")  # cumulative volume (hundredths) after each trade
        self.q_ts = array("q")  # quote history: time of change
        self.q_bid = array("i")  # best YES bid (pips, 0 = none)
        self.q_ask = array("i")  # best YES ask (pips, 10000 = none)
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

    def append(
        self,
        t_us: int,
        m: int,
        ticker: str,
        price: int,
        count: int,
        taker_side: str,
        trade_id: str,
        oi_after: int,
    ) -> int:
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
        return bytes(self.rows[self.offsets[i] : self.offsets[i + 1]])

    def rows_desc(self, positions) -> bytes:
        """JSON array body of the given tape positions (already in the wanted order)."""
        rows, off = self.rows, self.offsets
        return b"[" + b",".join([rows[off[i] : off[i + 1]] for i in positions]) + b"]"


def _arr(code: str, values) -> array:
    import numpy as np

    a = array(code)
    a.frombytes(np.ascontiguousarray(values, dtype=np.int64 if code == "q" else np.int32).tobytes())
    return a


def _bulk_load(self: Tape, T, M, P, C, S, OI, ids_hex: str, tickers: list[str]) -> None:
    """Load a whole time-sorted history at once (numpy arrays); the tape must be empty."""
    import numpy as np

    if len(self.ts):
        raise ValueError("bulk_load needs an empty tape")
    n = len(T)
    stamps = np.datetime_as_string(T.astype("datetime64[us]"), unit="us").tolist()
    d4 = [fmt.d4(p) for p in range(10_001)]
    blob = bytearray()
    lengths = np.empty(n, dtype=np.int64)
    chunk = 100_000
    for lo in range(0, n, chunk):  # in chunks: keeps the peak memory near the final buffer size
        hi = min(lo + chunk, n)
        rows = []
        add = rows.append
        for j, t, m, p, c, s in zip(
            range(lo, hi),
            stamps[lo:hi],
            M[lo:hi].tolist(),
            P[lo:hi].tolist(),
            C[lo:hi].tolist(),
            S[lo:hi].tolist(),
            strict=True,
        ):
            t = t.rstrip("0").rstrip(".")
            h = ids_hex[32 * j : 32 * j + 32]
            side, outcome = ("bid", "yes") if s else ("ask", "no")
            add(
                f'{{"count_fp":"{c // 100}.{c % 100:02d}","created_time":"{t}Z","is_block_trade":false,'
                f'"no_price_dollars":"{d4[10_000 - p]}","taker_book_side":"{side}",'
                f'"taker_outcome_side":"{outcome}","taker_side":"{outcome}","ticker":"{tickers[m]}",'
                f'"trade_id":"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}","yes_price_dollars":"{d4[p]}"}}'
            )
        lengths[lo:hi] = [len(r) for r in rows]
        blob += "".join(rows).encode()
    self.rows = blob
    self.offsets = _arr("q", np.concatenate([[0], np.cumsum(lengths)]))
    self.ts = _arr("q", T)
    self.mkt = _arr("i", M)
    self.price = _arr("i", P)
    self.count = _arr("q", C)
    order = np.argsort(M, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(M, minlength=len(self.series)))])
    for i in range(len(self.series)):
        a, b = bounds[i], bounds[i + 1]
        if a == b:
            continue
        idx = order[a:b]
        s = self.series[i]
        s.trade_idx = _arr("q", idx)
        s.trade_ts = _arr("q", T[idx])
        s.oi = _arr("q", OI[idx])
        cv = np.cumsum(C[idx])
        s.cumvol = _arr("q", cv)
        s.volume = int(cv[-1])
        s.last_price = int(P[idx[-1]])


def _load_quotes(self: MarketSeries, times, bids, asks) -> None:
    if len(self.q_ts):
        raise ValueError("load_quotes needs an empty quote history")
    self.q_ts = _arr("q", times)
    self.q_bid = _arr("i", bids)
    self.q_ask = _arr("i", asks)


Tape.bulk_load = _bulk_load
MarketSeries.load_quotes = _load_quotes
