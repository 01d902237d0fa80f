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
# Files written with the earlier decimal128(24, 8) are rewritten to (38, 12) when the stream is next opened for
# writing (Lake.ensure_current): DuckDB's plain read_parquet would round 12-dp strikes to the first file's 8 dp.
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

# Scheduled fee changes (GET /series/fee_changes, /events/fee_changes): one row per observed state of a change.
# An event change with both overrides null clears the event's override (the series terms apply again).
SERIES_FEE_CHANGE = _cols("id series_ticker fee_type fee_multiplier:num scheduled_ts:ts")
EVENT_FEE_CHANGE = _cols(
    "id event_ticker series_ticker fee_type_override fee_multiplier_override:num scheduled_ts:ts"
)

# --- multivariate (combo) markets -----------------------------------------------------------------------------
# GET /multivariate_event_collections: one row per observed state of a collection (`associated_events` kept whole
# as JSON: ticker, is_yes_only, size_min/size_max, active_quoters per event).
MVE_COLLECTION = _cols(
    "collection_ticker series_ticker title description open_date:ts close_date:ts associated_events:json "
    "associated_event_tickers:json is_ordered:bool is_single_market_per_event:bool is_all_yes:bool "
    "size_min:int size_max:int functional_description"
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
    "revenue:cents settled_time:ts fee_cost:usd value:cents exchange_index:int subaccount_number:int"
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
    "last_updated_ts:ts resting_orders_count:int exchange_index:int snapshot_ts:ts subaccount_number:int"
)

# `event_positions` of the same /portfolio/positions responses: one row per event and snapshot.
EVENT_POSITION = _cols(
    "event_ticker total_cost_dollars total_cost_shares_fp event_exposure_dollars realized_pnl_dollars "
    "fees_paid_dollars snapshot_ts:ts subaccount_number:int"
)

# GET /historical/positions: settled positions archived before the cutoff (MarketPosition; one row per observed
# state of a ticker, so an archived position lands once).
HISTORICAL_POSITION = _cols(
    "ticker total_traded_dollars position_fp market_exposure_dollars realized_pnl_dollars fees_paid_dollars "
    "last_updated_ts:ts resting_orders_count:int exchange_index:int"
)

BALANCE = _cols(
    "balance:cents portfolio_value:cents balance_dollars updated_ts:ts balance_breakdown:json snapshot_ts:ts "
    "subaccount_number:int"
)

# GET /portfolio/deposits, /portfolio/withdrawals (spec Deposit / Withdrawal): one row per observed state of a
# flow id (pending → applied | failed | returned). Amounts are integer cents; times Unix seconds.
CASH_FLOW = _cols("id status type amount_cents:cents fee_cents:cents created_ts:ts finalized_ts:ts")

# --- subaccounts (#18; spec v3.21 SubaccountBalance, SubaccountTransfer). `subaccount_number` on settlements,
# positions, event positions and balance (above) is stamped by the pull (the request's `subaccount`): those
# objects do not carry it. `balance` here is the spec's FixedPointDollars text ("750.0000").
SUBACCOUNT_BALANCE = _cols("subaccount_number:int balance:usd updated_ts:ts")
SUBACCOUNT_TRANSFER = _cols(
    "transfer_id from_subaccount:int to_subaccount:int amount_cents:cents created_ts:ts"
)

# --- streams the WebSocket recorder writes (kalshi-lake record); never pulled over REST -----------------------
# Every recorded row carries where it came from: the connection (`connection_id`, one per WebSocket connection,
# new after every reconnect and every recorder start), the subscription (`sid`), and when it arrived on our
# clock (`received_at`). `ts` is the exchange's time when the frame has one (`ts_ms`, else `ts`), else null.
_WS = "sid:int received_at:ts connection_id"

# One row per order-book level of a snapshot, one per delta. `kind` = snapshot | delta. A snapshot's rows share
# (connection_id, sid, seq); a snapshot with no levels at all is one row with side, price and quantity null (the
# book is known to be empty). `quantity_fp`: the resting quantity at the level (snapshot) or the signed change
# (delta). `side` = yes | no: the resting bids of that side, at `price_dollars` on its own side's scale, as Kalshi
# sends them (a NO bid at 0.48 is a YES ask at 0.52). `client_order_id` and `subaccount` (AsyncAPI orderbook_delta,
# optional): set on a delta only when the recording key's own order caused the change (its client_order_id; the
# subaccount number when that is a numbered subaccount, else null = the primary); null on every other row.
WS_BOOK = _cols(
    f"ticker market_id kind side price_dollars quantity_fp client_order_id subaccount:int seq:int ts:ts {_WS}"
)

# The `trade` channel: the REST trade fields (trade_id is the same id) plus the recording's provenance.
WS_TRADE = _cols(
    "trade_id ticker count_fp yes_price_dollars no_price_dollars taker_outcome_side taker_book_side "
    f"created_time:ts is_block_trade:bool taker_side {_WS}"
)

WS_TICKER = _cols(
    "ticker market_id price_dollars yes_bid_dollars yes_ask_dollars yes_bid_size_fp yes_ask_size_fp "
    f"last_trade_size_fp volume_fp open_interest_fp dollar_volume:int dollar_open_interest:int ts:ts {_WS}"
)

# `market_lifecycle_v2` (market events) and its event-level messages (`type` = the message type:
# market_lifecycle_v2 | event_lifecycle | event_fee_update ...); the whole message body is kept in `msg`.
WS_LIFECYCLE = _cols(
    "type event_type ticker event_ticker open_ts:ts close_ts:ts determination_ts:ts settled_ts:ts result "
    f"settlement_value:usd is_deactivated:bool fee_type_override fee_multiplier_override:num msg:json ts:ts {_WS}"
)

# Private channels, keyed as their REST streams are (fills by trade_id = the REST fill_id; orders by order_id and
# state), so staging de-duplicates them with the REST rows.
WS_FILL = _cols(
    "trade_id order_id ticker is_taker:bool side action outcome_side book_side purchased_side count_fp "
    f"yes_price_dollars fee_cost:usd post_position_fp client_order_id subaccount:int ts:ts {_WS}"
)
WS_USER_ORDER = _cols(
    "order_id client_order_id ticker status side outcome_side book_side yes_price_dollars fill_count_fp "
    "remaining_count_fp initial_count_fp taker_fill_cost_dollars maker_fill_cost_dollars taker_fees_dollars "
    "maker_fees_dollars order_group_id self_trade_prevention_type created_time:ts last_update_time:ts "
    f"expiration_time:ts subaccount_number:int {_WS}"
)
WS_POSITION = _cols(
    "ticker position_fp position_cost_dollars realized_pnl_dollars fees_paid_dollars position_fee_cost_dollars "
    f"volume_fp subaccount:int ts:ts {_WS}"
)
# `order_group_updates` (AsyncAPI orderGroupUpdatesPayload): one row per message about one of the key's order
# groups. `event_type` = created | limit_updated | triggered | reset | deleted; `contracts_limit_fp` the group's
# limit (on created and limit_updated only, else null); `seq` per subscription as Kalshi sent it; `ts` = `ts_ms`.
WS_ORDER_GROUP = _cols(f"order_group_id event_type contracts_limit_fp seq:int ts:ts {_WS}")

# The recorder's own log of what it saw whole. One row per event, `at` on our clock:
#   started / stopped        the recorder (stopped is absent after a crash: the hole runs to the next start)
#   connected / disconnected a WebSocket connection (reason: close code, cut, missed heartbeat ...)
#   whole                    `ticker`'s book is whole from `at` (its snapshot arrived on this connection)
#   gap                      `ticker`'s book is suspect from `at` (reason: seq_gap | duplicate | disconnected |
#                            slow_consumer ...; expected_seq / got_seq for sequence problems) until its next whole
#   alive                    written with every flush: everything up to `at` was recorded and is on disk
#   added / removed          a market joined or left the recording (discovery by series or event)
WS_COVERAGE = _cols(
    "at:ts event ticker channel sid:int connection_id reason expected_seq:int got_seq:int exchange_ts:ts"
)

WS_STREAMS = (
    "ws_book",
    "ws_trades",
    "ws_ticker",
    "ws_lifecycle",
    "ws_fills",
    "ws_user_orders",
    "ws_positions",
    "ws_order_groups",
    "ws_coverage",
)

# --- streams the live runner writes (kalshi-lake run; kalshi_lake.live.record); never pulled -------------------
# One session = one start of the runner (`session_id`); `run_key` names the strategy + parameters + selection and
# stays the same across restarts (it prefixes the session's client_order_ids). `mode` = paper | live. `at` is our
# clock, `ts` the exchange's (the time of the event the strategy was handling). Money and counts as in `bt_*`.

# One row per start and stop (`event` = started | stopped | killed; `summary` JSON at stop).
LIVE_SESSION = _cols(
    "session_id run_key strategy mode env event at:ts reason params:json selection:json limits:json summary:json"
)

# Every decision and what became of it, one row per step (`event_id` unique): `event` = accepted (passed the
# risk gate) | refused (the risk gate; `reason` starts with "risk:") | rejected (the engine's or the exchange's
# checks) | resting | executed | filled | canceled | unknown (live: the outcome is being resolved by lookup).
# `order_seq` is the session's order number (bt_fills.order_id); `trigger` what the strategy was handling.
LIVE_ORDER = _cols(
    "event_id session_id order_seq:int client_order_id order_id ticker event ts:ts at:ts action outcome_side "
    "book_side count_fp filled_fp yes_price_dollars time_in_force status reason trigger mode"
)

# One row per fill, the columns of bt_fills (cash and P&L as the runner books them) plus the exchange's ids.
# Live: `fill_id` is the exchange's (REST fill_id = WebSocket trade_id; a run records each once, across restarts)
# and `via` how it reached the runner: websocket (the fill channel) | rest (caught up by a reconcile: at start or
# after a reconnect, it happened while the runner was away). Paper: both null (the fill model's fills).
LIVE_FILL = _cols(
    "session_id fill_seq:int order_seq:int client_order_id ticker ts:ts at:ts action outcome_side book_side "
    "count_fp yes_price_dollars no_price_dollars is_taker:bool fee_cost:usd realized_pnl_dollars position_fp "
    "cash_dollars price_source quote_age_ms:num mode fill_id via"
)

# The status line, every few seconds, at start, after every accepted order and at stop: the account as the
# runner sees it (bt_equity + the guards). `day` (UTC), `day_start_equity_dollars` and `notional_today_dollars`
# are the daily limits' counters: a restart of the same run key on the same day resumes them from here.
LIVE_STATUS = _cols(
    "session_id run_key at:ts ts:ts cash_dollars positions_value_dollars equity_dollars pnl_today_dollars "
    "open_orders:int positions:json max_data_age_s:num limits_hit:json feed mode day day_start_equity_dollars "
    "notional_today_dollars"
)

LIVE_STREAMS = ("live_sessions", "live_orders", "live_fills", "live_status")

SAME_AS: dict[str, dict[str, str]] = {
    "fills": {
        "fill_id": "trade_id",
        "ticker": "market_ticker",
        # 2025 fills also spelled the dollar prices *_fixed ("fill price for the yes side in fixed point dollars")
        "yes_price_dollars": "yes_price_fixed",
        "no_price_dollars": "no_price_fixed",
    }
}

# Columns whose values are (nearly) all distinct: written to Parquet without a dictionary. A dictionary there holds
# every value once more plus an index per row, so it only costs CPU and bytes (33k trades, issue #20: -15% of the
# write's CPU, -17% of the file). Any column may be listed or not: readers decode both encodings alike.
PLAIN_COLUMNS: dict[str, tuple[str, ...]] = {
    "trades": ("trade_id", "created_time"),
    "ws_trades": ("trade_id", "created_time"),
    "fills": ("fill_id", "trade_id", "created_time"),
    "orders": ("order_id", "client_order_id", "created_time"),
}

STREAM_COLUMNS: dict[str, tuple[Col, ...]] = {
    "series": SERIES,
    "series_fee_changes": SERIES_FEE_CHANGE,
    "events": EVENT,
    "event_fee_changes": EVENT_FEE_CHANGE,
    "markets": MARKET,
    # multivariate events are EventData (GET /events/multivariate); combo markets are Markets (mve_filter=only)
    "mve_events": EVENT,
    "mve_collections": MVE_COLLECTION,
    "combo_markets": MARKET,
    "trades": TRADE,
    "candlesticks": CANDLESTICK,
    "orderbook_snapshots": ORDERBOOK,
    "exchange_status": EXCHANGE_STATUS,
    "fills": FILL,
    "settlements": SETTLEMENT,
    "orders": ORDER,
    "positions": POSITION,
    "event_positions": EVENT_POSITION,
    "historical_positions": HISTORICAL_POSITION,
    "balance": BALANCE,
    "deposits": CASH_FLOW,
    "withdrawals": CASH_FLOW,
    # subaccounts (#18)
    "subaccount_balances": SUBACCOUNT_BALANCE,
    "subaccount_transfers": SUBACCOUNT_TRANSFER,
    "ws_book": WS_BOOK,
    "ws_trades": WS_TRADE,
    "ws_ticker": WS_TICKER,
    "ws_lifecycle": WS_LIFECYCLE,
    "ws_fills": WS_FILL,
    "ws_user_orders": WS_USER_ORDER,
    "ws_positions": WS_POSITION,
    "ws_order_groups": WS_ORDER_GROUP,
    "ws_coverage": WS_COVERAGE,
    "live_sessions": LIVE_SESSION,
    "live_orders": LIVE_ORDER,
    "live_fills": LIVE_FILL,
    "live_status": LIVE_STATUS,
}

PRIVATE_STREAMS = frozenset(
    {"fills", "settlements", "orders", "positions", "balance", "ws_fills", "ws_user_orders", "ws_positions"}
    | {"event_positions", "historical_positions"}
    | {"deposits", "withdrawals"}
    | {"subaccount_balances", "subaccount_transfers"}
    | {"ws_order_groups"}
)
PRIVATE_STREAMS |= frozenset(LIVE_STREAMS)  # a live session's orders and fills belong to one account


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
