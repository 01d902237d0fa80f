"""Arrow schemas of every lake stream, declared once.

Column names are the API's own field names, so Kalshi's documentation explains the lake. Types follow one rule
(see docs/CONTRACTS.md "Columns"):

==========  ==============================  =====================================================
kind        Arrow type                      parsed from
==========  ==============================  =====================================================
``str``     string                          JSON string (a number or object is kept as its JSON text)
``usd``     decimal128(18, 6)               ``*_dollars`` / ``fee_cost`` fixed-point strings
``fp``      decimal128(18, 2)               ``*_fp`` fixed-point count strings
``num``     decimal128(18, 6)               a JSON *number* (``fee_multiplier``), from its text
``strike``  decimal128(38, 12)              a JSON number strike (``floor_strike``, ``cap_strike``)
``ts``      timestamp[us, tz=UTC]           RFC3339 text (any fraction length) or Unix seconds
``cents``   int64                           integer cents (``balance``, ``revenue``, ``value``)
``int``     int64 / ``int32``: int32         JSON integers
``bool``    bool                            JSON booleans
``json``    string                          nested lists / objects, serialized as JSON
==========  ==============================  =====================================================

Every stream also has ``_loaded_at`` (timestamp[us, UTC]), ``_run_id`` (string) and ``_extra`` (string: JSON object
of the fields the schema does not know, null when none); private streams add ``_account`` (string).
The hive partition column ``date`` lives in the directory name only (``date=YYYY-MM-DD``), never in the files.

Schema drift rules applied by :mod:`kalshi_extract.lake.convert`:

- unknown field → kept in ``_extra`` and reported once per run;
- missing field → null;
- a legacy integer-cents field ``X`` (``yes_price: 36``) where the schema has ``X_dollars`` → ``X_dollars`` is
  filled exactly (``0.360000``) when the response lacks it, and ``X`` is still kept in ``_extra``; likewise a
  legacy integer count ``X`` for ``X_fp``;
- an integer-cents column ``X`` (``revenue``) whose response now says ``X_dollars`` (``"10.00"``) → ``X`` is
  filled with the exact cents when they are whole, and ``X_dollars`` is kept in ``_extra``;
- a column the spec calls the same value as an older field (``SAME_AS``: Fill ``trade_id`` is the "legacy field
  name, same as fill_id", ``market_ticker`` the same as ``ticker``; ``yes_price_fixed`` was a 2025 spelling of
  ``yes_price_dollars``) → filled from that field when the response lacks it (the oldest fills have no
  ``fill_id``), so the primary key is never null.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

USD = pa.decimal128(18, 6)
FP = pa.decimal128(18, 2)
# strikes are Go float64s printed shortest-exact (up to 17 significant digits): 26 integer + 12 fraction digits.
# Lakes written with the earlier decimal128(24, 8) still read (pyarrow datasets and DuckDB widen the older files).
STRIKE = pa.decimal128(38, 12)
TS = pa.timestamp("us", tz="UTC")

# written by the order module's journal (kalshi_extract.orders.journal), never pulled from the API
ORDER_EVENTS_STREAM = "order_events"

KIND_TYPES: dict[str, pa.DataType] = {
    "str": pa.string(),
    "usd": USD,
    "fp": FP,
    "num": USD,
    "strike": STRIKE,
    "ts": TS,
    "cents": pa.int64(),
    "int": pa.int64(),
    "int32": pa.int32(),
    "bool": pa.bool_(),
    "json": pa.string(),
}

META_FIELDS = [
    pa.field("_loaded_at", TS),
    pa.field("_run_id", pa.string()),
    pa.field("_extra", pa.string()),
]
ACCOUNT_FIELD = pa.field("_account", pa.string())


@dataclass(frozen=True)
class Col:
    """One API field: its name and kind (see the module docstring)."""

    name: str
    kind: str

    @property
    def type(self) -> pa.DataType:
        return KIND_TYPES[self.kind]


def _cols(spec: str) -> tuple[Col, ...]:
    """Parse ``"name:kind name:kind"``; a bare ``*_dollars``/``*_fp`` name takes its kind from the suffix."""
    out = []
    for token in spec.split():
        name, _, kind = token.partition(":")
        if not kind:
            if name.endswith("_dollars"):
                kind = "usd"
            elif name.endswith("_fp"):
                kind = "fp"
            else:
                kind = "str"
        if kind not in KIND_TYPES:
            raise ValueError(f"unknown column kind {kind!r} for {name!r}")
        out.append(Col(name, kind))
    return tuple(out)


TRADE = _cols(
    "trade_id ticker count_fp yes_price_dollars no_price_dollars taker_outcome_side taker_book_side "
    "created_time:ts is_block_trade:bool taker_side"
)

MARKET = _cols(
    "ticker event_ticker market_type title subtitle yes_sub_title no_sub_title created_time:ts updated_time:ts "
    "open_time:ts close_time:ts expected_expiration_time:ts expiration_time:ts latest_expiration_time:ts "
    "settlement_timer_seconds:int status response_price_units yes_bid_dollars yes_bid_size_fp yes_ask_dollars "
    "yes_ask_size_fp no_bid_dollars no_ask_dollars last_price_dollars volume_fp volume_24h_fp result "
    "can_close_early:bool fractional_trading_enabled:bool open_interest_fp notional_value_dollars "
    "previous_yes_bid_dollars previous_yes_ask_dollars previous_price_dollars liquidity_dollars "
    "settlement_value_dollars settlement_ts:ts settlement_bounds_type settlement_floor_dollars expiration_value "
    "occurrence_datetime:ts fee_waiver_expiration_time:ts early_close_condition strike_type floor_strike:strike "
    "cap_strike:strike functional_strike custom_strike:json rules_primary rules_secondary mve_collection_ticker "
    "mve_selected_legs:json primary_participant_key price_level_structure price_ranges:json is_provisional:bool "
    "exchange_index:int"
)

EVENT = _cols(
    "event_ticker series_ticker sub_title title collateral_return_type mutually_exclusive:bool category "
    "strike_date:ts strike_period available_on_brokers:bool product_metadata:json settlement_sources:json "
    "last_updated_ts:ts fee_type_override fee_multiplier_override:num exchange_index:int"
)

SERIES = _cols(
    "ticker frequency title category categories:json tags:json settlement_sources:json contract_url "
    "contract_terms_url product_metadata:json fee_type fee_multiplier:num additional_prohibitions:json volume_fp "
    "last_updated_ts:ts exchange_index:int"
)

_OHLC = " ".join(f"yes_bid_{p}_dollars" for p in ("open", "low", "high", "close"))
_OHLC += " " + " ".join(f"yes_ask_{p}_dollars" for p in ("open", "low", "high", "close"))
_OHLC += " " + " ".join(
    f"price_{p}_dollars" for p in ("open", "low", "high", "close", "mean", "previous", "min", "max")
)
CANDLESTICK = _cols(
    f"ticker series_ticker period_interval:int32 end_period_ts:ts {_OHLC} volume_fp open_interest_fp"
)

ORDERBOOK = _cols("ticker snapshot_ts:ts side price_dollars count_fp level:int32")

EXCHANGE_STATUS = _cols(
    "exchange_active:bool trading_active:bool intra_exchange_transfers_active:bool "
    "exchange_estimated_resume_time:ts exchange_index_statuses:json snapshot_ts:ts"
)

FILL = _cols(
    "fill_id trade_id order_id ticker market_ticker outcome_side book_side side action count_fp "
    "yes_price_dollars no_price_dollars is_taker:bool created_time:ts fee_cost:usd subaccount_number:int ts:ts "
    "exchange_index:int"
)

SETTLEMENT = _cols(
    "ticker event_ticker market_result yes_count_fp yes_total_cost_dollars no_count_fp no_total_cost_dollars "
    "revenue:cents settled_time:ts fee_cost:usd value:cents exchange_index:int"
)

ORDER = _cols(
    "order_id user_id client_order_id ticker outcome_side book_side side action type status yes_price_dollars "
    "no_price_dollars fill_count_fp remaining_count_fp initial_count_fp taker_fill_cost_dollars "
    "maker_fill_cost_dollars taker_fees_dollars maker_fees_dollars expiration_time:ts created_time:ts "
    "last_update_time:ts self_trade_prevention_type order_group_id cancel_order_on_pause:bool "
    "subaccount_number:int exchange_index:int"
)

POSITION = _cols(
    "ticker total_traded_dollars position_fp market_exposure_dollars realized_pnl_dollars fees_paid_dollars "
    "last_updated_ts:ts resting_orders_count:int exchange_index:int snapshot_ts:ts"
)

BALANCE = _cols(
    "balance:cents portfolio_value:cents balance_dollars updated_ts:ts balance_breakdown:json snapshot_ts:ts"
)

SAME_AS: dict[str, dict[str, str]] = {
    "fills": {
        "fill_id": "trade_id",
        "ticker": "market_ticker",
        # 2025 fills also spelled the dollar prices *_fixed ("fill price for the yes side in fixed point dollars")
        "yes_price_dollars": "yes_price_fixed",
        "no_price_dollars": "no_price_fixed",
    }
}

STREAM_COLUMNS: dict[str, tuple[Col, ...]] = {
    "series": SERIES,
    "events": EVENT,
    "markets": MARKET,
    "trades": TRADE,
    "candlesticks": CANDLESTICK,
    "orderbook_snapshots": ORDERBOOK,
    "exchange_status": EXCHANGE_STATUS,
    "fills": FILL,
    "settlements": SETTLEMENT,
    "orders": ORDER,
    "positions": POSITION,
    "balance": BALANCE,
}

PRIVATE_STREAMS = frozenset({"fills", "settlements", "orders", "positions", "balance"})


def arrow_schema(stream: str) -> pa.Schema:
    """The full Arrow schema of a stream's Parquet files (API columns, then metadata columns)."""
    try:
        cols = STREAM_COLUMNS[stream]
    except KeyError:
        raise KeyError(f"unknown stream {stream!r}; known: {', '.join(STREAM_COLUMNS)}") from None
    fields = [pa.field(c.name, c.type) for c in cols] + list(META_FIELDS)
    if stream in PRIVATE_STREAMS:
        fields.append(ACCOUNT_FIELD)
    return pa.schema(fields)
