"""Reshape API objects whose layout differs from a flat lake row (candlesticks, order books, single objects).

Fields these functions do not recognise are left in the returned dicts, so the converter keeps them in
``_extra`` (nothing is dropped silently).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

__all__ = ["flatten_candle", "orderbook_rows", "series_of"]

_BIDASK = ("open", "low", "high", "close")
_PRICE = ("open", "low", "high", "close", "mean", "previous", "min", "max")


def _take(group: object, prefix: str, names: Iterable[str], row: dict, leftovers: dict) -> None:
    if group is None:
        return
    if not isinstance(group, dict):
        leftovers[prefix] = group
        return
    rest = dict(group)
    for name in names:
        for key in (f"{name}_dollars", name):  # live shape, then the historical shape
            if key in rest:
                value = rest.pop(key)
                if key == name and isinstance(value, int) and not isinstance(value, bool):
                    # the integer-cent era's live candles ({"open": 45}); the historical shape sends "0.4500"
                    value = str(Decimal(value).scaleb(-2))
                row[f"{prefix}_{name}_dollars"] = value
                break
    if rest:
        leftovers[prefix] = rest


def flatten_candle(candle: dict, ticker: str, series_ticker: str | None, period_interval: int) -> dict:
    """One candlestick (live or historical shape) → a flat candlesticks row (OHLC columns ``*_dollars``)."""
    src = dict(candle)
    row: dict = {"ticker": ticker, "series_ticker": series_ticker, "period_interval": period_interval}
    leftovers: dict = {}
    row["end_period_ts"] = src.pop("end_period_ts", None)
    _take(src.pop("yes_bid", None), "yes_bid", _BIDASK, row, leftovers)
    _take(src.pop("yes_ask", None), "yes_ask", _BIDASK, row, leftovers)
    _take(src.pop("price", None), "price", _PRICE, row, leftovers)
    for live, hist in (("volume_fp", "volume"), ("open_interest_fp", "open_interest")):
        if live in src:
            row[live] = src.pop(live)
        elif hist in src:
            row[live] = src.pop(hist)
    row.update(src)  # unknown top-level fields → _extra
    for key, value in leftovers.items():
        row[f"{key}__unknown"] = value
    return row


def orderbook_rows(ticker: str, book: dict | None, snapshot_ts: str) -> list[dict]:
    """An ``orderbook_fp`` object → one row per level (level 0 = best = highest bid), bids only as sent.

    An empty side still gives one row (null price, count and level) so the snapshot is recorded.
    """
    book = dict(book or {})
    rows = []
    for side in ("yes", "no"):
        levels = book.pop(f"{side}_dollars", None) or []
        parsed = []
        for level in levels:
            price, count = (
                (level[0], level[1]) if isinstance(level, (list, tuple)) and len(level) >= 2 else (None, None)
            )
            parsed.append((price, count))
        # best = highest price; the API's own order is not relied on (notes §4.3). Sort on exact text value.
        parsed.sort(key=lambda pc: _price_key(pc[0]), reverse=True)
        if not parsed:
            rows.append(
                {
                    "ticker": ticker,
                    "snapshot_ts": snapshot_ts,
                    "side": side,
                    "price_dollars": None,
                    "count_fp": None,
                    "level": None,
                }
            )
        for i, (price, count) in enumerate(parsed):
            rows.append(
                {
                    "ticker": ticker,
                    "snapshot_ts": snapshot_ts,
                    "side": side,
                    "price_dollars": price,
                    "count_fp": count,
                    "level": i,
                }
            )
    if book and rows:
        rows[0]["orderbook_fp__unknown"] = book
    return rows


def _price_key(price: object) -> tuple[int, int]:
    """Order dollar strings without floats: (integer part, fraction padded to 6 digits)."""
    if price is None:
        return (-1, 0)
    text = str(price)
    whole, _, frac = text.partition(".")
    try:
        return (int(whole or 0), int((frac + "000000")[:6]))
    except ValueError:
        return (-1, 0)


def series_of(event_ticker: str | None, ticker: str) -> str:
    """Series ticker of a market: the event ticker's prefix before the first ``-`` (Kalshi's naming rule)."""
    base = event_ticker or ticker
    return base.split("-", 1)[0]
