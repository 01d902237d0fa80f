"""What the recorder lands: WebSocket messages and stream events → rows of the ``ws_*`` lake streams.

Pure functions (no I/O). A row is a dict keyed by the stream's column names (see the ``ws_*`` declarations in
:mod:`kalshi_extract.lake.schemas`); any other key is a field the schema does not know, which the lake's
:class:`~kalshi_extract.lake.convert.Converter` keeps in ``_extra``. Values come from the frame as Kalshi sent it
(``raw``: prices and counts still their fixed-point text), so the lake's exact string casts type them and a value
that does not fit its column lands as null with the original in ``_extra``: nothing is rounded, nothing dropped.

Rules
- ``market_ticker`` lands as ``ticker``; a body field named like one of the recorder's own columns (``kind``,
  ``sid``, ``received_at`` …) but meaning something else is kept in ``_extra`` as ``msg.<name>``.
- Exchange time: the most precise of ``ts_ms`` and ``ts`` the frame states (a book delta's RFC 3339 ``ts`` has
  microseconds; its ``ts_ms`` is the same instant cut to milliseconds). When the two disagree, ``ts_ms`` wins and
  ``ts`` is kept in ``_extra``. Trades put it in ``created_time`` (the REST trade's time column).
- A frame of an unknown type (or one the client could not parse) lands in ``ws_lifecycle`` with ``type`` = its
  type and ``msg`` = its body; a frame without a JSON-object body keeps the whole frame in ``_extra`` as ``frame``.
- Top-level frame keys other than ``type``, ``sid``, ``seq``, ``msg`` are kept in ``_extra`` as ``frame.<name>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from kalshi_extract.lake.schemas import STREAM_COLUMNS
from kalshi_extract.ws import Disconnected, Gap, Message, Reconnected, SubscriptionFailed

__all__ = ["MESSAGE_STREAMS", "message_rows", "coverage_row", "event_coverage_rows", "iso", "iso_ms"]

# message type → lake stream; anything else lands in ws_lifecycle (see the module docstring)
MESSAGE_STREAMS = {
    "orderbook_snapshot": "ws_book",
    "orderbook_delta": "ws_book",
    "trade": "ws_trades",
    "ticker": "ws_ticker",
    "ticker_v2": "ws_ticker",
    "market_lifecycle_v2": "ws_lifecycle",
    "multivariate_market_lifecycle": "ws_lifecycle",
    "event_lifecycle": "ws_lifecycle",
    "event_fee_update": "ws_lifecycle",
    "fill": "ws_fills",
    "user_order": "ws_user_orders",
    "market_position": "ws_positions",
    "order_group_updates": "ws_order_groups",
}
_COLUMNS = {stream: frozenset(c.name for c in cols) for stream, cols in STREAM_COLUMNS.items()}
_FRAME_KEYS = frozenset({"type", "sid", "seq", "msg"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(at: datetime) -> str:
    """RFC 3339 text of an aware datetime, microseconds, UTC (the lake casts it exactly)."""
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%f}Z"


def iso_ms(ms: int) -> str:
    """RFC 3339 text of Unix milliseconds (exact: no float)."""
    return iso(_EPOCH + timedelta(milliseconds=ms))


def _exchange_time(body: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(the frame's exchange time as text, the time fields it leaves over for ``_extra``); see the module rules."""
    ts_ms, ts = body.get("ts_ms"), body.get("ts")
    ms = ts_ms if isinstance(ts_ms, int) and not isinstance(ts_ms, bool) else None
    left: dict[str, Any] = {}
    if ts_ms is not None and ms is None:
        left["ts_ms"] = ts_ms
    if isinstance(ts, str):
        try:
            stamp = datetime.fromisoformat(ts.replace("Z", "+00:00"))
        except ValueError:
            stamp = None
        if stamp is not None and stamp.tzinfo is not None:
            micros = (stamp - _EPOCH) // timedelta(microseconds=1)
            if ms is None or micros // 1000 == ms:
                return iso(stamp), left
        if ms is None:
            return None, {**left, "ts": ts}
        return iso_ms(ms), {**left, "ts": ts}
    if isinstance(ts, int) and not isinstance(ts, bool):
        if ms is None:
            return iso_ms(ts * 1000), left
        if ms // 1000 == ts:
            return iso_ms(ms), left
        return iso_ms(ms), {**left, "ts": ts}
    if ts is not None:
        left["ts"] = ts
    return (iso_ms(ms) if ms is not None else None), left


def _provenance(msg: Message, connection: str) -> dict[str, Any]:
    sid = msg.sid if isinstance(msg.sid, int) and not isinstance(msg.sid, bool) else None
    row: dict[str, Any] = {"sid": sid, "received_at": iso(msg.received_at), "connection_id": connection}
    if msg.sid is not None and sid is None:
        row["frame.sid"] = msg.sid
    for key, value in msg.raw.items():
        if key not in _FRAME_KEYS:
            row[f"frame.{key}"] = value
    if msg.parse_error:
        row["parse_error"] = msg.parse_error
    return row


def _body_row(
    stream: str, body: Mapping[str, Any], used: set[str], time_column: str | None
) -> dict[str, Any]:
    """Body fields → columns: same-named fields as they are, ``market_ticker`` → ``ticker``, the exchange time
    into ``time_column``; everything else under a name the schema does not know (→ ``_extra``)."""
    cols = _COLUMNS[stream]
    row: dict[str, Any] = {}
    if time_column is not None:
        row[time_column], left = _exchange_time(body)
        row.update(left)
        used = used | {"ts", "ts_ms"}
    for key, value in body.items():
        if key in used:
            continue
        if key == "market_ticker" and "ticker" in cols and "ticker" not in body:
            row["ticker"] = value
        elif key in cols and key not in row:
            row[key] = value
        else:
            row[key if key not in cols else f"msg.{key}"] = value
    return row


def _with_seq(msg: Message, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` plus the frame's ``seq`` (a non-integer one is kept in ``_extra`` as ``frame.seq``)."""
    head = {"seq": msg.seq if isinstance(msg.seq, int) and not isinstance(msg.seq, bool) else None, **base}
    if msg.seq is not None and head["seq"] is None:
        head["frame.seq"] = msg.seq
    return head


def _book_rows(msg: Message, body: Mapping[str, Any], base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    head = _with_seq(msg, base)
    if msg.type == "orderbook_snapshot":
        common = {**_body_row("ws_book", body, {"yes_dollars_fp", "no_dollars_fp"}, "ts"), **head}
        common["kind"] = "snapshot"
        levels = []
        for side in ("yes", "no"):
            value = body.get(f"{side}_dollars_fp")
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, list) and len(v) == 2 for v in value):
                common[f"{side}_dollars_fp"] = value  # not levels: kept as sent
                continue
            levels += [(side, price, qty) for price, qty in value]
        if not levels:  # the book is known to be empty
            yield {**common, "side": None, "price_dollars": None, "quantity_fp": None}
        for side, price, qty in levels:
            yield {**common, "side": side, "price_dollars": price, "quantity_fp": qty}
        return
    row = {**_body_row("ws_book", body, {"delta_fp"}, "ts"), **head}
    row["kind"] = "delta"
    row["quantity_fp"] = body.get("delta_fp")
    yield row


def message_rows(msg: Message, connection: str) -> tuple[str, list[dict[str, Any]]]:
    """The stream a channel message lands in and its rows (a snapshot: one per level)."""
    base = _provenance(msg, connection)
    body = msg.raw.get("msg")
    stream = MESSAGE_STREAMS.get(msg.type, "ws_lifecycle")
    if not isinstance(body, dict):
        stream = "ws_lifecycle"
    if stream == "ws_book":
        return stream, list(_book_rows(msg, body, base))
    if stream == "ws_lifecycle":
        return stream, [_lifecycle_row(msg, body, base)]
    time_column = "created_time" if stream == "ws_trades" else ("ts" if "ts" in _COLUMNS[stream] else None)
    if "seq" in _COLUMNS[stream]:  # ws_order_groups: seq per subscription, as on the books
        base = _with_seq(msg, base)
    return stream, [{**_body_row(stream, body, set(), time_column), **base}]


def _lifecycle_row(msg: Message, body: Any, base: dict[str, Any]) -> dict[str, Any]:
    """One ``ws_lifecycle`` row; the whole body is ``msg``, so fields the columns do not name are kept there."""
    row: dict[str, Any] = {"type": msg.type, **base}
    if not isinstance(body, dict):
        row["frame"] = dict(msg.raw)
        return row
    cols = _COLUMNS["ws_lifecycle"] - {"type", "msg", "ts", "sid", "received_at", "connection_id"}
    for key in cols:
        if key in body:
            row[key] = body[key]
    row["ticker"] = body.get("market_ticker", body.get("ticker"))
    meta = body.get("additional_metadata")
    if row.get("event_ticker") is None and isinstance(meta, dict):
        row["event_ticker"] = meta.get("event_ticker")
    row["ts"], left = _exchange_time(body)
    row.update(left)
    row["msg"] = body
    return row


def coverage_row(
    at: datetime,
    event: str,
    *,
    ticker: str | None = None,
    channel: str | None = None,
    sid: int | None = None,
    connection: str | None = None,
    reason: str | None = None,
    expected_seq: int | None = None,
    got_seq: int | None = None,
    exchange_ms: int | None = None,
) -> dict[str, Any]:
    """One ``ws_coverage`` row (the events are described in the schema's comment)."""
    return {
        "at": iso(at),
        "event": event,
        "ticker": ticker,
        "channel": channel,
        "sid": sid,
        "connection_id": connection,
        "reason": reason,
        "expected_seq": expected_seq,
        "got_seq": got_seq,
        "exchange_ts": iso_ms(exchange_ms) if exchange_ms is not None else None,
    }


def event_coverage_rows(event: Any, connection_of) -> list[dict[str, Any]]:
    """Coverage rows of one stream event. ``connection_of(int)`` → the connection's recorded id."""
    if isinstance(event, Gap):
        conn = connection_of(event.connection_id)
        reason = event.reason if event.resync == "none" else f"{event.reason} (resync: {event.resync})"
        common = dict(channel=event.channel or None, sid=event.sid, connection=conn, reason=reason)
        seqs = dict(expected_seq=event.expected, got_seq=event.got)
        tickers = event.markets or (None,)
        return [coverage_row(event.at, "gap", ticker=t, **common, **seqs) for t in tickers]
    if isinstance(event, Disconnected):
        how = "close frame" if event.clean else "no close frame"
        reason = f"{event.reason} ({how})"
        return [
            coverage_row(
                event.at, "disconnected", connection=connection_of(event.connection_id), reason=reason
            )
        ]
    if isinstance(event, Reconnected):
        reason = (
            f"reconnected after {event.attempts} attempt(s), {event.downtime_s:.1f} s down: {event.reason}"
        )
        return [
            coverage_row(event.at, "connected", connection=connection_of(event.connection_id), reason=reason)
        ]
    if isinstance(event, SubscriptionFailed):
        reason = f"subscription failed: {event.error}"
        tickers = event.markets or (None,)
        return [
            coverage_row(event.at, "gap", ticker=t, channel=event.channel, reason=reason) for t in tickers
        ]
    return []  # SlowConsumer: the Gap events that follow it say which markets
