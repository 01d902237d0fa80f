"""What the stream yields: channel messages (typed, exact) and the stream's own events (gaps, connection changes).

Parsing rules:
- JSON numbers that are not integers decode to ``Decimal`` (``parse_float``), never ``float``.
- In every message body, strings under keys ending in ``_dollars`` or ``_fp`` (and the unsuffixed dollar strings
  ``fee_cost``, ``settlement_value``) become ``Decimal``; ``[[price, count], …]`` level lists under keys ending in
  ``_dollars_fp`` become tuples of ``(Decimal, Decimal)``. Integer fields (``dollar_volume``, ``ts``) stay ints.
- ``ts_ms`` is the exchange time in milliseconds; when a frame omits it, it is taken from ``ts`` (seconds as an
  integer, or an RFC 3339 string on book deltas). ``None`` when neither is present.
- A frame of a type not listed below, or one whose values do not parse, is still delivered: as a plain
  :class:`Message` (its ``data`` as decoded; ``parse_error`` says what failed). Nothing is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from kalshi_extract.errors import WebSocketError

__all__ = [
    "Message",
    "OrderbookSnapshot",
    "OrderbookDelta",
    "Trade",
    "Ticker",
    "MarketLifecycle",
    "EventLifecycle",
    "EventFeeUpdate",
    "Fill",
    "UserOrder",
    "MarketPosition",
    "OrderGroupUpdate",
    "Gap",
    "Disconnected",
    "Reconnected",
    "SlowConsumer",
    "SubscriptionFailed",
    "Event",
    "decode_frame",
    "parse_message",
]

Level = tuple[Decimal, Decimal]
_MONEY_KEYS = frozenset({"fee_cost", "settlement_value"})


def decode_frame(text: str | bytes) -> dict[str, Any]:
    """JSON text of one frame → dict, non-integer numbers as Decimal. ValueError if it is not a JSON object."""
    obj = json.loads(text, parse_float=Decimal)
    if not isinstance(obj, dict):
        raise ValueError(f"a frame must be a JSON object, got {type(obj).__name__}")
    return obj


def _exact(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _exact(k, v) for k, v in value.items()}
    if key.endswith("_dollars_fp") and isinstance(value, list):
        return tuple((Decimal(p), Decimal(q)) for p, q in value)
    if isinstance(value, list):
        return [_exact("", v) for v in value]
    if isinstance(value, str) and (key.endswith(("_dollars", "_fp")) or key in _MONEY_KEYS):
        return Decimal(value)
    return value


def _ts_ms(body: Mapping[str, Any]) -> int | None:
    ts_ms = body.get("ts_ms")
    if isinstance(ts_ms, int) and not isinstance(ts_ms, bool):
        return ts_ms
    ts = body.get("ts")
    if isinstance(ts, int) and not isinstance(ts, bool):
        return ts * 1000
    if isinstance(ts, str):
        stamp = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        return int(stamp.timestamp()) * 1000 + stamp.microsecond // 1000
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One channel frame. ``data`` is the frame's ``msg`` with exact values; ``raw`` the frame as decoded."""

    type: str
    sid: int | None
    seq: int | None
    data: Mapping[str, Any]
    raw: Mapping[str, Any] = field(repr=False)
    received_at: datetime
    connection_id: int
    ts_ms: int | None = None
    parse_error: str | None = None

    @property
    def market_ticker(self) -> str | None:
        return self.data.get("market_ticker") or self.data.get("ticker")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderbookSnapshot(Message):
    """The whole book of one market: resting bids per side as Kalshi sends them, ``(price, quantity)`` levels."""

    market_id: str | None
    yes: tuple[Level, ...]
    no: tuple[Level, ...]

    @property
    def market_ticker(self) -> str:
        return self.data["market_ticker"]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderbookDelta(Message):
    """A change of ``delta`` contracts at ``price`` on ``side`` (``yes``/``no``) of one market's book.

    ``client_order_id`` (and ``subaccount``, a numbered subaccount's number) are set only when your own order
    caused the change; None otherwise (AsyncAPI: "present only when you caused this orderbook change")."""

    market_id: str | None
    side: str
    price: Decimal
    delta: Decimal
    client_order_id: str | None = None
    subaccount: int | None = None

    @property
    def market_ticker(self) -> str:
        return self.data["market_ticker"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Trade(Message):
    """A public trade. ``taker_outcome_side`` is ``yes``/``no``, ``taker_book_side`` ``bid``/``ask``."""

    trade_id: str
    yes_price: Decimal
    no_price: Decimal
    count: Decimal
    taker_outcome_side: str | None
    taker_book_side: str | None
    is_block_trade: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ticker(Message):
    """Best YES bid/ask with sizes, last price and size, volume and open interest of one market."""

    price: Decimal | None
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    yes_bid_size: Decimal | None
    yes_ask_size: Decimal | None
    last_trade_size: Decimal | None
    volume: Decimal | None
    open_interest: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketLifecycle(Message):
    """``market_lifecycle_v2``: ``event_type`` is created, activated, deactivated, close_date_updated,
    determined, settled, price_level_structure_updated or metadata_updated; the rest is in ``data``."""

    event_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventLifecycle(Message):
    """An event was created (``event_ticker``, ``series_ticker``, titles in ``data``)."""

    event_ticker: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFeeUpdate(Message):
    """An event-level fee override was set or cleared (both overrides None when cleared)."""

    event_ticker: str
    fee_type_override: str | None
    fee_multiplier_override: Decimal | int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Fill(Message):
    """One of your fills (private ``fill`` channel); ``fee_cost`` in dollars."""

    trade_id: str
    order_id: str
    yes_price: Decimal | None
    count: Decimal | None
    fee_cost: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserOrder(Message):
    """The current state of one of your orders (private ``user_orders`` channel)."""

    order_id: str
    status: str | None
    client_order_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketPosition(Message):
    """Your position in one market (private ``market_positions`` channel)."""

    position: Decimal | None
    position_cost: Decimal | None
    realized_pnl: Decimal | None
    fees_paid: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderGroupUpdate(Message):
    """One of your order groups changed (private ``order_group_updates`` channel; carries ``seq``).
    ``event_type``: created | limit_updated | triggered | reset | deleted; ``contracts_limit`` (contracts) is set on
    created and limit_updated only."""

    order_group_id: str
    event_type: str
    contracts_limit: Decimal | None


def _levels(data: Mapping[str, Any], key: str) -> tuple[Level, ...]:
    return tuple(data.get(key, ()))


_BUILDERS = {
    "orderbook_snapshot": lambda d: (
        OrderbookSnapshot,
        {
            "market_id": d.get("market_id"),
            "yes": _levels(d, "yes_dollars_fp"),
            "no": _levels(d, "no_dollars_fp"),
        },
    ),
    "orderbook_delta": lambda d: (
        OrderbookDelta,
        {
            "market_id": d.get("market_id"),
            "side": d["side"],
            "price": d["price_dollars"],
            "delta": d["delta_fp"],
            "client_order_id": d.get("client_order_id"),
            "subaccount": d.get("subaccount"),
        },
    ),
    "trade": lambda d: (
        Trade,
        {
            "trade_id": d["trade_id"],
            "yes_price": d["yes_price_dollars"],
            "no_price": d["no_price_dollars"],
            "count": d["count_fp"],
            "taker_outcome_side": d.get("taker_outcome_side"),
            "taker_book_side": d.get("taker_book_side"),
            "is_block_trade": d.get("is_block_trade"),
        },
    ),
    "ticker": lambda d: (
        Ticker,
        {
            "price": d.get("price_dollars"),
            "yes_bid": d.get("yes_bid_dollars"),
            "yes_ask": d.get("yes_ask_dollars"),
            "yes_bid_size": d.get("yes_bid_size_fp"),
            "yes_ask_size": d.get("yes_ask_size_fp"),
            "last_trade_size": d.get("last_trade_size_fp"),
            "volume": d.get("volume_fp"),
            "open_interest": d.get("open_interest_fp"),
        },
    ),
    "market_lifecycle_v2": lambda d: (MarketLifecycle, {"event_type": d["event_type"]}),
    "event_lifecycle": lambda d: (EventLifecycle, {"event_ticker": d["event_ticker"]}),
    "event_fee_update": lambda d: (
        EventFeeUpdate,
        {
            "event_ticker": d["event_ticker"],
            "fee_type_override": d.get("fee_type_override"),
            "fee_multiplier_override": d.get("fee_multiplier_override"),
        },
    ),
    "fill": lambda d: (
        Fill,
        {
            "trade_id": d["trade_id"],
            "order_id": d["order_id"],
            "yes_price": d.get("yes_price_dollars"),
            "count": d.get("count_fp"),
            "fee_cost": d.get("fee_cost"),
        },
    ),
    "user_order": lambda d: (
        UserOrder,
        {"order_id": d["order_id"], "status": d.get("status"), "client_order_id": d.get("client_order_id")},
    ),
    "market_position": lambda d: (
        MarketPosition,
        {
            "position": d.get("position_fp"),
            "position_cost": d.get("position_cost_dollars"),
            "realized_pnl": d.get("realized_pnl_dollars"),
            "fees_paid": d.get("fees_paid_dollars"),
        },
    ),
}
_BUILDERS["order_group_updates"] = lambda d: (
    OrderGroupUpdate,
    {
        "order_group_id": d["order_group_id"],
        "event_type": d["event_type"],
        "contracts_limit": d.get("contracts_limit_fp"),
    },
)
MESSAGE_TYPES = frozenset(_BUILDERS)


def parse_message(frame: Mapping[str, Any], *, received_at: datetime, connection_id: int = 0) -> Message:
    """A decoded channel frame → its typed message; an unknown or malformed one → a plain :class:`Message`."""
    kind = str(frame.get("type"))
    body = frame.get("msg")
    common = {
        "type": kind,
        "sid": frame.get("sid"),
        "seq": frame.get("seq"),
        "raw": frame,
        "received_at": received_at,
        "connection_id": connection_id,
    }
    if not isinstance(body, dict):
        return Message(data={} if body is None else {"msg": body}, **common)
    try:
        data = _exact("", body)
        ts_ms = _ts_ms(data)
    except (InvalidOperation, ValueError, TypeError) as exc:
        return Message(data=body, parse_error=f"{type(exc).__name__}: {exc}", **common)
    builder = _BUILDERS.get(kind)
    if builder is None:
        return Message(data=data, ts_ms=ts_ms, **common)
    try:
        cls, typed = builder(data)
    except (KeyError, ValueError, TypeError) as exc:
        return Message(data=data, ts_ms=ts_ms, parse_error=f"missing or bad field {exc}", **common)
    return cls(data=data, ts_ms=ts_ms, **common, **typed)


# --- the stream's own events -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Gap:
    """Messages of subscription ``sid`` may be missing: every market in ``markets`` is suspect from ``at`` until
    its next ``OrderbookSnapshot`` (books) or for good (trades, tickers). ``reason``: ``seq_gap`` (``got`` >
    ``expected``), ``duplicate`` (``got`` < ``expected``; the frame was not delivered), ``disconnected`` (the
    connection was lost; ``got`` None), ``slow_consumer`` (messages were dropped because the queue was full).
    ``resync`` says what the stream did about it: ``get_snapshot``, ``resubscribe`` or ``none`` (trades and
    tickers dropped for a slow consumer cannot be had again by re-subscribing; the REST tape has the trades)."""

    sid: int | None
    channel: str
    markets: tuple[str, ...]
    expected: int | None
    got: int | None
    reason: str
    at: datetime
    connection_id: int
    resync: str


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection ``connection_id`` was lost at ``at``. ``clean`` is True when the server sent a close frame
    (``code``, ``reason`` from it); else ``reason`` says what happened (cut, heartbeat timeout…)."""

    connection_id: int
    reason: str
    at: datetime
    clean: bool
    code: int | None = None


@dataclass(frozen=True, slots=True)
class Reconnected:
    """A new connection ``connection_id`` is up after ``attempts`` tries and ``downtime_s`` seconds; every
    subscription was re-made (new sids in ``sids``: channel → sid list) and books re-snapshotted."""

    connection_id: int
    at: datetime
    attempts: int
    downtime_s: float
    reason: str
    sids: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SlowConsumer:
    """The consumer fell behind: the queue held ``max_queue`` messages and ``dropped`` channel messages were
    dropped between ``since`` and ``at``. A ``Gap`` (reason ``slow_consumer``) follows for each affected sid."""

    dropped: int
    since: datetime
    at: datetime
    sids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SubscriptionFailed:
    """A subscription could not be re-made after a reconnect or a resync (e.g. its market closed: code 16); it
    is no longer wanted (``state`` ``failed``)."""

    channel: str
    markets: tuple[str, ...]
    error: WebSocketError
    at: datetime


Event = Gap | Disconnected | Reconnected | SlowConsumer | SubscriptionFailed
