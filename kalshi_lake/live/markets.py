"""The markets a live run trades, read over REST: static terms (``MarketInfo``, as a backtest sees them), fee
terms (``FeeSchedule``) and the trading cut-off. A selection is series and/or events and/or tickers; only
markets that are open now are kept (a market that opens later is not picked up by a running session)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from kalshi_extract.errors import NotFoundError
from kalshi_lake.backtest.data import MarketInfo
from kalshi_lake.backtest.errors import BacktestDataError
from kalshi_lake.backtest.fees import FEE_TYPES, FeeSchedule
from kalshi_lake.backtest.money import parse_price_ranges

__all__ = ["Selection", "LiveMarkets", "load_markets"]


@dataclass(frozen=True)
class Selection:
    series: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    tickers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("series", "events", "tickers"):
            object.__setattr__(self, name, tuple(s.strip().upper() for s in getattr(self, name) if s.strip()))
        if not (self.series or self.events or self.tickers):
            raise BacktestDataError("a live run needs --series, --events or --tickers (what to trade)")

    def as_dict(self) -> dict:
        return {"series": list(self.series), "events": list(self.events), "tickers": list(self.tickers)}


@dataclass
class LiveMarkets:
    infos: list[MarketInfo]
    fees: list[FeeSchedule]
    close_us: list[int | None]


def _us(text: str | None) -> int | None:
    if not text:
        return None
    stamp = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return int(stamp.timestamp()) * 1_000_000 + stamp.microsecond


def _open_markets(client: Any, params: dict) -> list[dict]:
    out: list[dict] = []
    for page in client.paginate("/markets", {**params, "status": "open", "limit": 1000}, data_key="markets"):
        out.extend(page.items)
    return out


def _fees(client: Any, series: str | None, cache: dict) -> FeeSchedule:
    if series is None:
        return FeeSchedule()
    if series not in cache:
        try:
            body = client.get(f"/series/{series}").get("series") or {}
        except NotFoundError:
            body = {}
        fee_type = body.get("fee_type") or "quadratic"
        mult = body.get("fee_multiplier")
        cache[series] = FeeSchedule(
            fee_type if fee_type in FEE_TYPES else "quadratic",
            Decimal(str(mult)) if mult is not None else Decimal(1),
        )
    return cache[series]


def load_markets(client: Any, selection: Selection) -> LiveMarkets:
    """The open markets of the selection, in ticker order, with their terms and fees."""
    rows: dict[str, dict] = {}
    for s in selection.series:
        for m in _open_markets(client, {"series_ticker": s}):
            rows[m["ticker"]] = {**m, "_series": s}
    for e in selection.events:
        for m in _open_markets(client, {"event_ticker": e}):
            rows[m["ticker"]] = m
    for t in selection.tickers:
        try:
            m = client.get(f"/markets/{t}")["market"]
        except NotFoundError:
            raise BacktestDataError(f"market {t} does not exist on this exchange") from None
        if m.get("status") not in ("open", "active"):
            raise BacktestDataError(f"market {t} is {m.get('status')}, not open: nothing to trade")
        rows[m["ticker"]] = m
    if not rows:
        raise BacktestDataError(f"no open market in the selection {selection.as_dict()}")
    infos, fees, closes, cache = [], [], [], {}
    for ticker in sorted(rows):
        m = rows[ticker]
        series = (
            m.get("_series") or m.get("series_ticker") or (m.get("event_ticker") or "").split("-")[0] or None
        )
        close = _us(m.get("close_time"))
        infos.append(
            MarketInfo(
                ticker,
                m.get("event_ticker"),
                series,
                m.get("market_type"),
                _us(m.get("open_time")),
                close,
                parse_price_ranges(m.get("price_ranges")),
                m.get("title"),
            )
        )
        fees.append(_fees(client, series, cache))
        closes.append(close)
    return LiveMarkets(infos, fees, closes)
