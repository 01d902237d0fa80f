"""Every lake stream, declared once: endpoint, historical twin, primary key, partitioning, incremental rule, schema.

Incremental rules (implemented in :mod:`kalshi_extract.ingest.rule_base`):

- ``time`` (trades, fills, orders, settlements): a watermark per partition = the newest event time landed.
  Each run asks for ``[watermark − overlap, until)``; the part older than the run's ``/historical/cutoff`` comes
  from the historical endpoint, the rest from the live one (slices are disjoint by event time, so nothing is
  counted twice, and the two run concurrently); rows whose primary key is already in the lake for that window are
  dropped, so the lake holds every row once. A long slice checkpoints (files + cursor) every 100 pages; a re-run
  after a crash resumes from the last checkpoint. ``orders`` also re-reads every order still resting at the previous run, so executions and
  cancellations land as new rows (one row per observed state: primary key ``order_id`` + content).
- ``state`` (series, events, markets): every observed *state* is a row; a row is written when its content differs
  from the last landed row of the same key (content hashes live in the stream's state). Markets are re-pulled
  until final; a run also reads ``/historical/markets`` on the first run of a scope and whenever the cutoff moved.
  Every run re-reads the live markets of its scope (one request per 1000 markets): even a finalized market's
  content keeps changing while it is live (``volume_24h_fp`` and ``previous_*`` are rolling 24-hour figures), and
  ``min_updated_ts`` only tracks lifecycle changes, so a cheaper query would leave the lake behind the API.
  Narrow by series/events/tickers to keep frequent runs cheap on the real exchange.
- ``snapshot`` (positions, balance, exchange_status, orderbook_snapshots): every run lands a complete,
  timestamped snapshot (``snapshot_ts`` = the exchange's time of the response that carried it, from its HTTP
  ``Date`` header, else the run's ``_loaded_at``; also the partition date; see :mod:`kalshi_extract.ingest.state_rules`).
- ``candles`` (candlesticks): watermark per (ticker, interval) = the newest *closed* candle landed.

Partition column ``date``: event date (``created_time``, ``settled_time``, ``end_period_ts``…) for event streams,
snapshot/load date for state and snapshot streams.
"""

from __future__ import annotations

from dataclasses import dataclass

from kalshi_extract.lake.schemas import PRIVATE_STREAMS, STREAM_COLUMNS, Col

__all__ = ["StreamDef", "STREAMS", "STREAM_NAMES", "get_stream"]


@dataclass(frozen=True)
class StreamDef:
    name: str
    rule: str  # time | state | snapshot | candles
    path: str | None  # live endpoint (relative to /trade-api/v2)
    data_key: str | None
    primary_key: tuple[str, ...]
    date_column: str | None  # partition date source; None = _loaded_at
    historical_path: str | None = None
    cutoff_key: str | None = None  # key of /historical/cutoff that splits historical from live
    time_column: str | None = None  # incremental time axis (time rule)
    exact_numbers: bool = False  # parse pages keeping JSON numbers' text (decimal columns from JSON numbers)
    overlap_seconds: int = 300
    ticker_param: str | None = "ticker"  # query parameter narrowing by market ticker

    @property
    def private(self) -> bool:
        return self.name in PRIVATE_STREAMS

    @property
    def columns(self) -> tuple[Col, ...]:
        return STREAM_COLUMNS[self.name]


_S = StreamDef
STREAMS: dict[str, StreamDef] = {
    s.name: s
    for s in [
        _S("series", "state", "/series", "series", ("ticker",), None, exact_numbers=True, ticker_param=None),
        _S(
            "events",
            "state",
            "/events",
            "events",
            ("event_ticker",),
            None,
            exact_numbers=True,
            ticker_param=None,
        ),
        _S(
            "markets",
            "state",
            "/markets",
            "markets",
            ("ticker",),
            None,
            historical_path="/historical/markets",
            cutoff_key="market_settled_ts",
            exact_numbers=True,
            ticker_param="tickers",
        ),
        _S(
            "trades",
            "time",
            "/markets/trades",
            "trades",
            ("trade_id",),
            "created_time",
            historical_path="/historical/trades",
            cutoff_key="trades_created_ts",
            time_column="created_time",
        ),
        _S(
            "candlesticks",
            "candles",
            "/series/{series_ticker}/markets/{ticker}/candlesticks",
            "candlesticks",
            ("ticker", "period_interval", "end_period_ts"),
            "end_period_ts",
            historical_path="/historical/markets/{ticker}/candlesticks",
            cutoff_key="market_settled_ts",
            time_column="end_period_ts",
        ),
        _S(
            "orderbook_snapshots",
            "snapshot",
            "/markets/orderbooks",
            "orderbooks",
            ("ticker", "snapshot_ts", "side", "level"),
            "snapshot_ts",
            ticker_param="tickers",
        ),
        _S(
            "exchange_status",
            "snapshot",
            "/exchange/status",
            None,
            ("snapshot_ts",),
            "snapshot_ts",
            ticker_param=None,
        ),
        _S(
            "fills",
            "time",
            "/portfolio/fills",
            "fills",
            ("fill_id",),
            "created_time",
            historical_path="/historical/fills",
            cutoff_key="trades_created_ts",
            time_column="created_time",
        ),
        _S(
            "settlements",
            "time",
            "/portfolio/settlements",
            "settlements",
            ("ticker", "settled_time"),
            "settled_time",
            time_column="settled_time",
        ),
        _S(
            "orders",
            "time",
            "/portfolio/orders",
            "orders",
            ("order_id",),
            "created_time",
            historical_path="/historical/orders",
            cutoff_key="orders_updated_ts",
            time_column="created_time",
        ),
        _S(
            "positions",
            "snapshot",
            "/portfolio/positions",
            "market_positions",
            ("ticker", "snapshot_ts"),
            "snapshot_ts",
        ),
        _S(
            "balance",
            "snapshot",
            "/portfolio/balance",
            None,
            ("snapshot_ts",),
            "snapshot_ts",
            ticker_param=None,
        ),
    ]
}

STREAM_NAMES: tuple[str, ...] = tuple(STREAMS)


def get_stream(name: str) -> StreamDef:
    """The declaration of a stream; a clear error naming the valid streams otherwise."""
    try:
        return STREAMS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, STREAM_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown stream {name!r}.{hint} Streams: {', '.join(STREAM_NAMES)}") from None
