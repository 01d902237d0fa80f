"""Every lake stream, declared once: which endpoint it reads, how its rows are keyed and partitioned, and how its
incremental rule treats it.

A stream names its entry in :data:`kalshi_extract.api.endpoints.ENDPOINTS` (``endpoint="trades"``); the path, the
key holding the rows and the ``/historical/*`` twin come from there. The declaration adds only lake concepts: the
lake row's primary key where it differs from the endpoint's (snapshots add ``snapshot_ts``), the partition date
column, the cutoff key, the time column, and the fields that tune the stream's rule. The rule code reads these
fields and never compares a stream's name (``tests/architecture/test_no_name_branches.py`` keeps it so).

Incremental rules (:mod:`kalshi_extract.ingest.time_rule` and :mod:`kalshi_extract.ingest.state_rules`; shared
helpers in :mod:`kalshi_extract.ingest.rule_base`):

- ``time`` (trades, fills, orders, settlements): a watermark per partition = the newest event time landed.
  Each run asks for ``[watermark − overlap, until)``; for a stream with a cutoff key the part older than the run's
  ``/historical/cutoff`` comes from the historical twin, the rest from the live endpoint (slices are disjoint by
  event time, so nothing is counted twice, and the two run concurrently); rows whose de-duplication key is
  already in the lake for that window (or, for ``dedup_scope="stream"``, anywhere in the stream) are dropped, so
  the lake holds every row once. A long slice checkpoints (files + cursor) every 100 pages; a re-run after a
  crash resumes from the last checkpoint. A stream with ``recheck_resting`` (orders) also re-reads every order
  still resting at the previous run, so executions and cancellations land as new rows (one row per observed
  state: ``dedup_columns`` = id + state fields).
- ``state`` (series, events, markets, series and event fee changes, multivariate (mve) collections and events,
  combo markets, deposits, withdrawals, subaccount balances and transfers): every observed *state* is a row; a row
  is written when its content differs
  from the last landed row of the same key (content hashes live in the stream's state). A state stream with a
  historical twin (markets) also reads it on the first run of a scope and whenever the cutoff moved. Every run
  re-reads the live markets of its scope (one request per 1000 markets): even a finalized market's content keeps
  changing while it is live (``volume_24h_fp`` and ``previous_*`` are rolling 24-hour figures), and
  ``min_updated_ts`` only tracks lifecycle changes, so a cheaper query would leave the lake behind the API.
  Narrow by series/events/tickers to keep frequent runs cheap on the real exchange.
- ``snapshot`` (positions, event_positions, balance, exchange_status, orderbook_snapshots): every run lands a complete,
  timestamped snapshot (``snapshot_ts`` = the exchange's time of the response that carried it, from its HTTP
  ``Date`` header, else the run's ``_loaded_at``; also the partition date; see
  :mod:`kalshi_extract.ingest.state_rules`).
- ``candles`` (candlesticks): watermark per (ticker, interval) = the newest *closed* candle landed; a final
  market's candles come from the historical twin.

Archived combos (``combo_markets``): ``/historical/markets`` does return multivariate markets (its ``mve_filter``
takes only ``exclude``; "By default, MVE markets are included") and takes a ``tickers`` list, but it cannot list
combos *only*, and the archive holds every market settled before the cutoff. So the live read stays
``/markets?mve_filter=only`` and the archive is asked by ticker (``archive_*`` fields): the tickers the lake's
trades and fills name (and the selection's tickers) that neither ``combo_markets`` nor ``markets`` has a row for,
``TICKER_CHUNK`` per request, keeping the combos (rows with ``mve_collection_ticker``). A traded ticker still without
a market row after that is reported (a warning naming them), never silently missing. A combo settled before the
cutoff that nobody traded or filled (and that is not named) is not read: it has nothing to attribute.

Subaccounts: fills and orders "default to all subaccounts" and each row says its ``subaccount_number``: read once.
Positions, event positions and balance "default to 0" and settlements do not say their subaccount: these
(``per_subaccount``) are read once per subaccount the account has, each row stamped with its ``subaccount_number``.

Partition column ``date``: event date (``created_time``, ``settled_time``, ``end_period_ts``…) for event streams,
snapshot/load date for state and snapshot streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kalshi_extract.api.endpoints import ENDPOINTS, Endpoint
from kalshi_extract.lake.schemas import PRIVATE_STREAMS, STREAM_COLUMNS, Col

__all__ = ["StreamDef", "STREAMS", "STREAM_NAMES", "get_stream"]


@dataclass(frozen=True)
class StreamDef:
    """One lake stream. Fields after ``date_column`` are optional and default to the common case."""

    name: str
    #: incremental rule: ``time`` | ``state`` | ``snapshot`` | ``candles`` (see the module docstring)
    rule: str
    #: the entry of :data:`~kalshi_extract.api.endpoints.ENDPOINTS` the stream reads (path, data key, twin)
    endpoint: str
    #: column whose date partitions the lake (``date=YYYY-MM-DD``); None = the run's ``_loaded_at``
    date_column: str | None
    #: primary key of a lake row when it differs from the endpoint's (snapshots add ``snapshot_ts``, candles the
    #: ticker and interval); empty = the endpoint's primary key
    lake_key: tuple[str, ...] = ()
    #: key of ``/historical/cutoff`` that splits historical from live rows. A stream reads the endpoint's
    #: historical twin only when it has one; without it the live endpoint serves everything.
    cutoff_key: str | None = None
    #: incremental time axis (time and candles rules): the watermark is the newest value landed
    time_column: str | None = None
    #: time rule: column standing in for ``time_column`` on rows where that is null (fills: ``ts``)
    time_fallback_column: str | None = None
    #: re-parse pages keeping JSON numbers' text (decimal columns sent as JSON numbers)
    exact_numbers: bool = False
    #: time rule: each run re-reads this many seconds before the watermark (late rows)
    overlap_seconds: int = 300
    #: time rule: columns that identify a landed row for de-duplication; empty = the primary key. Orders land one
    #: row per observed state, so their id alone would drop an order's later states.
    dedup_columns: tuple[str, ...] = ()
    #: time rule: where a landed row is looked for: ``window`` = rows of the run's time window only (large
    #: streams), ``stream`` = the whole stream (small streams whose rows can reappear outside the window)
    dedup_scope: Literal["window", "stream"] = "window"
    #: time rule: partition days a writer keeps open. Pages come newest first, so a day is finished once a page of
    #: an older day arrives: 2 suffice; a stream strictly ordered by its partition column (trades) needs 1, and
    #: writes each finished day at once. Rows out of order would cost an extra file for that day, never a wrong row.
    open_days: int = 2
    #: time rule: the archive takes rows by their last update, not by ``time_column`` (orders are archived by
    #: ``orders_updated_ts``): a row created before the cutoff but changed after it is only live, so the live
    #: slice spans the whole window and the slices overlap (pulled one after the other)
    archived_by_last_update: bool = False
    #: time rule: re-read the rows still resting at the previous run (orders) and land their new state
    recheck_resting: bool = False
    #: time rule: a market's rows end when it closes (trades, fills): a partition landed after its market
    #: closed is not asked again
    ends_at_market_close: bool = False
    #: state rule: the stream's level in Kalshi's series → event → market hierarchy, which decides how a
    #: selection of series, events and tickers becomes queries; ``exchange`` = outside the hierarchy (fee
    #: changes): a small list read whole on every run, whatever the selection
    level: Literal["series", "event", "market", "exchange"] | None = None
    #: state rule: the endpoint reading one object by its key (``/series/{series_ticker}``), used for selected
    #: objects at the stream's level or derived from finer selections
    object_endpoint: str | None = None
    #: snapshot rule: how a snapshot is read. ``object``: one GET, the response is the row; ``pages``: every page
    #: of the list (per selected ticker or event) shares the first response's time; ``order_books``: the books of
    #: the selected (or all open) markets, one row per price level
    snapshot_source: Literal["object", "pages", "order_books"] | None = None
    #: snapshot and time rules: the stream is read once per subaccount (discovered each run from
    #: ``/portfolio/subaccounts/balances``; 0 = the primary account), each request with ``subaccount=n``, and every
    #: row stamped ``subaccount_number = n``. For endpoints whose ``subaccount`` "defaults to 0" (positions,
    #: balance: one read would miss the other subaccounts) or whose rows do not say their subaccount (settlements)
    per_subaccount: bool = False
    #: state rule: rows the historical twin cannot select by itself are read from this endpoint by ``tickers``
    #: (combos: ``/historical/markets`` has no ``mve_filter=only``), for the tickers that ``archive_tickers_from``
    #: streams' lake rows name (and the selection's tickers) and that neither this stream nor the
    #: ``archive_known_from`` streams have landed; see the module docstring
    archive_endpoint: str | None = None
    #: state rule: lake streams whose ``ticker`` column names the rows to look for in the archive
    archive_tickers_from: tuple[str, ...] = ()
    #: state rule: lake streams whose rows already give a ticker its market row (not asked, not reported)
    archive_known_from: tuple[str, ...] = ()
    #: state rule: an archived row is this stream's when this field is set (a combo's ``mve_collection_ticker``);
    #: the others belong to another stream (``markets``) and are not landed here
    archive_keep: str | None = None

    def __post_init__(self) -> None:
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"stream {self.name!r}: no endpoint {self.endpoint!r} in ENDPOINTS")
        if self.cutoff_key and not self.api.historical:
            raise ValueError(
                f"stream {self.name!r} has a cutoff key but {self.endpoint!r} no historical twin"
            )

    @property
    def api(self) -> Endpoint:
        """The endpoint entry the stream reads."""
        return ENDPOINTS[self.endpoint]

    @property
    def path(self) -> str:
        """Live path (relative to ``/trade-api/v2``; may hold ``{ticker}``-style placeholders)."""
        return self.api.path

    @property
    def data_key(self) -> str | None:
        """Key of the response holding the rows; None when the response is the row."""
        return self.api.data_key

    @property
    def historical_path(self) -> str | None:
        """Path of the historical twin, for streams with a cutoff key; None otherwise."""
        if not self.cutoff_key:
            return None
        return ENDPOINTS[self.api.historical].path

    @property
    def primary_key(self) -> tuple[str, ...]:
        return self.lake_key or self.api.primary_key

    @property
    def dedup_key(self) -> tuple[str, ...]:
        """Columns compared to find a row already landed (time rule)."""
        return self.dedup_columns or self.primary_key

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
        _S(
            "series",
            "state",
            "series_list",
            None,
            exact_numbers=True,
            level="series",
            object_endpoint="series",
        ),
        _S("events", "state", "events", None, exact_numbers=True, level="event", object_endpoint="event"),
        _S("series_fee_changes", "state", "series_fee_changes", None, exact_numbers=True, level="exchange"),
        _S("event_fee_changes", "state", "event_fee_changes", None, exact_numbers=True, level="exchange"),
        _S(
            "markets",
            "state",
            "markets",
            None,
            cutoff_key="market_settled_ts",
            exact_numbers=True,
            level="market",
        ),
        # multivariate (combo) markets. Collections are a small list read whole; combo markets and their events
        # (one per combo on Kalshi) are pulled only when named (ingest.plan.ON_REQUEST_STREAMS). Combos settled
        # before the cutoff: /historical/markets includes them but cannot select combos only, so they are asked
        # by ticker, for the combos the lake's trades and fills name (module docstring, docs/CONTRACTS.md).
        _S("mve_collections", "state", "multivariate_collections", None, level="exchange"),
        _S(
            "mve_events",
            "state",
            "multivariate_events",
            None,
            exact_numbers=True,
            level="exchange",
        ),
        _S(
            "combo_markets",
            "state",
            "combo_markets",
            None,
            exact_numbers=True,
            level="market",
            archive_endpoint="historical_markets",
            archive_tickers_from=("trades", "fills"),
            archive_known_from=("markets",),
            archive_keep="mve_collection_ticker",
        ),
        _S(
            "trades",
            "time",
            "trades",
            "created_time",
            cutoff_key="trades_created_ts",
            time_column="created_time",
            open_days=1,
            ends_at_market_close=True,
        ),
        _S(
            "candlesticks",
            "candles",
            "candlesticks",
            "end_period_ts",
            lake_key=("ticker", "period_interval", "end_period_ts"),
            cutoff_key="market_settled_ts",
            time_column="end_period_ts",
        ),
        _S(
            "orderbook_snapshots",
            "snapshot",
            "orderbooks",
            "snapshot_ts",
            lake_key=("ticker", "snapshot_ts", "side", "level"),
            snapshot_source="order_books",
        ),
        _S(
            "exchange_status",
            "snapshot",
            "exchange_status",
            "snapshot_ts",
            lake_key=("snapshot_ts",),
            snapshot_source="object",
        ),
        _S(
            "fills",
            "time",
            "fills",
            "created_time",
            cutoff_key="trades_created_ts",
            time_column="created_time",
            time_fallback_column="ts",
            ends_at_market_close=True,
        ),
        _S(
            "settlements",
            "time",
            "settlements",
            "settled_time",
            lake_key=("ticker", "settled_time", "subaccount_number"),
            time_column="settled_time",
            dedup_scope="stream",
            per_subaccount=True,
        ),
        _S(
            "orders",
            "time",
            "orders",
            "created_time",
            cutoff_key="orders_updated_ts",
            time_column="created_time",
            dedup_columns=("order_id", "status", "fill_count_fp", "remaining_count_fp", "last_update_time"),
            dedup_scope="stream",
            archived_by_last_update=True,
            recheck_resting=True,
        ),
        _S(
            "positions",
            "snapshot",
            "positions",
            "snapshot_ts",
            lake_key=("ticker", "subaccount_number", "snapshot_ts"),
            snapshot_source="pages",
            per_subaccount=True,
        ),
        # the event_positions list of the same /portfolio/positions pages (one more request per page)
        _S(
            "event_positions",
            "snapshot",
            "event_positions",
            "snapshot_ts",
            lake_key=("event_ticker", "subaccount_number", "snapshot_ts"),
            snapshot_source="pages",
            per_subaccount=True,
        ),
        # settled positions archived before the cutoff: a small list read whole, each state landed once
        _S("historical_positions", "state", "historical_positions", None, level="exchange"),
        _S(
            "balance",
            "snapshot",
            "balance",
            "snapshot_ts",
            lake_key=("subaccount_number", "snapshot_ts"),
            snapshot_source="object",
            per_subaccount=True,
        ),
        # deposits and withdrawals: small lists with no time filter, read whole; a flow's status change lands as a
        # new row (pending, then applied / failed / returned)
        _S("deposits", "state", "deposits", None, level="exchange"),
        _S("withdrawals", "state", "withdrawals", None, level="exchange"),
        # --- subaccounts (#18): every observed state of each subaccount's balance, and the transfers between
        # them (small lists read whole on every run; a transfer never changes, so it lands once)
        _S("subaccount_balances", "state", "subaccount_balances", None, level="exchange"),
        _S("subaccount_transfers", "state", "subaccount_transfers", None, level="exchange"),
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
