"""What a recording covers: the plan (checked before anything is written) and market discovery over REST.

``plan_record(settings, tickers=..., series=..., events=..., channels=..., duration=...)`` validates the input and
raises ``ConfigError`` with a one-line reason, touching nothing. ``resolve_markets(settings, plan)`` then asks
the REST API which markets to record at the start: the given tickers (each must exist), and the open markets of
the given series and events (each series and event must exist). Markets that open later are found by the
recorder on the lifecycle channel (:func:`belongs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from kalshi_extract.errors import ConfigError, NotFoundError
from kalshi_extract.ws import CHANNELS, PRIVATE_CHANNELS

__all__ = [
    "DEFAULT_CHANNELS",
    "MARKET_CHANNELS",
    "LIFECYCLE_CHANNEL",
    "RecordPlan",
    "plan_record",
    "parse_duration",
    "resolve_markets",
    "belongs",
]

MARKET_CHANNELS = ("orderbook_delta", "trade", "ticker")  # subscribed per market
LIFECYCLE_CHANNEL = "market_lifecycle_v2"  # exchange-wide: how new markets are found
DEFAULT_CHANNELS = (*MARKET_CHANNELS, LIFECYCLE_CHANNEL)
DEFAULT_FLUSH_SECONDS = 5.0
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class RecordPlan:
    """A checked recording request. ``duration`` None: until stopped."""

    tickers: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    duration: float | None = None
    flush_seconds: float = DEFAULT_FLUSH_SECONDS

    @property
    def market_channels(self) -> tuple[str, ...]:
        return tuple(c for c in self.channels if c in MARKET_CHANNELS)

    @property
    def discovers(self) -> bool:
        """True when markets join and leave by series or event (the lifecycle channel is then needed)."""
        return bool(self.series or self.events)

    def describe(self) -> str:
        parts = [
            f"{name} {','.join(v)}"
            for name, v in (("tickers", self.tickers), ("series", self.series), ("events", self.events))
            if v
        ]
        return "; ".join(parts) + f"; channels {','.join(self.channels)}"


def _names(values: Iterable[str] | str | None, option: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for value in values:
        for name in str(value).split(","):
            name = name.strip()
            if not name:
                continue
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
                raise ConfigError(
                    f"{option}: {name!r} is not a Kalshi ticker (letters, digits, '.', '_', '-')"
                )
            out.append(name.upper())
    return tuple(dict.fromkeys(out))


def parse_duration(text: str | float | int | None) -> float | None:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"1d"``, ``"1h30m"`` or plain seconds → seconds (None: no limit)."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        raw = str(text).strip().lower()
        parts = re.findall(r"(\d+(?:\.\d+)?)\s*([smhd]?)", raw)
        if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*([smhd]?)", "", raw).strip():
            raise ConfigError(f"--for {text!r} is not a duration; use e.g. 90s, 30m, 2h, 1d or 1h30m")
        seconds = sum(float(n) * _UNITS[u or "s"] for n, u in parts)
    if seconds <= 0:
        raise ConfigError(f"--for {text!r} must be longer than zero")
    return seconds


def plan_record(
    settings,
    *,
    tickers: Iterable[str] | str | None = None,
    series: Iterable[str] | str | None = None,
    events: Iterable[str] | str | None = None,
    channels: Iterable[str] | str | None = None,
    duration: str | float | None = None,
    flush_seconds: float = DEFAULT_FLUSH_SECONDS,
) -> RecordPlan:
    """Check a recording request (no I/O). Default channels: the public ones, plus the private ones with a key."""
    plan_tickers, plan_series = _names(tickers, "--tickers"), _names(series, "--series")
    plan_events = _names(events, "--events")
    if not (plan_tickers or plan_series or plan_events):
        raise ConfigError("say what to record: --tickers T1,T2, --series S or --events E")
    chans = tuple(
        dict.fromkeys(
            c.strip()
            for c in ",".join([channels] if isinstance(channels, str) else (channels or ())).split(",")
            if c.strip()
        )
    )
    if not chans:
        chans = DEFAULT_CHANNELS + (PRIVATE_CHANNELS if settings.has_key else ())
    for c in chans:
        if c not in CHANNELS:
            raise ConfigError(f"--channels: unknown channel {c!r}; known: {', '.join(CHANNELS)}")
        if c in PRIVATE_CHANNELS and not settings.has_key:
            raise ConfigError(
                f"channel {c!r} is private: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH (or KALSHI_PRIVATE_KEY)"
            )
    if (plan_series or plan_events) and LIFECYCLE_CHANNEL not in chans:
        chans = (*chans, LIFECYCLE_CHANNEL)  # discovery needs it
    if not isinstance(flush_seconds, int | float) or isinstance(flush_seconds, bool) or flush_seconds <= 0:
        raise ConfigError(f"the flush interval must be a positive number of seconds, not {flush_seconds!r}")
    return RecordPlan(
        tickers=plan_tickers,
        series=plan_series,
        events=plan_events,
        channels=chans,
        duration=parse_duration(duration),
        flush_seconds=float(flush_seconds),
    )


def resolve_markets(client, plan: RecordPlan) -> dict[str, str]:
    """The markets to record at the start → why each is recorded. Raises ConfigError for an unknown ticker,
    series or event (nothing has been written then)."""
    out: dict[str, str] = {}
    for ticker in plan.tickers:
        try:
            client.get_market(ticker)
        except NotFoundError:
            raise ConfigError(f"--tickers: market {ticker!r} does not exist on {client.base_url}") from None
        out[ticker] = "selected"
    for name in plan.series:
        try:
            client.get_series(name)
        except NotFoundError:
            raise ConfigError(f"--series: series {name!r} does not exist on {client.base_url}") from None
        for m in client.get_markets(series_ticker=name, status="open"):
            out.setdefault(m["ticker"], f"open at start (series {name})")
    for name in plan.events:
        try:
            client.get_event(name)
        except NotFoundError:
            raise ConfigError(f"--events: event {name!r} does not exist on {client.base_url}") from None
        for m in client.get_markets(event_ticker=name, status="open"):
            out.setdefault(m["ticker"], f"open at start (event {name})")
    return out


def belongs(plan: RecordPlan, ticker: str, event_ticker: str | None = None) -> str | None:
    """Why a market that just opened belongs to the recording (None: it does not). A market ticker starts with
    its event ticker, which starts with its series ticker (``KXBTC-26DEC31-T100000``)."""
    ticker = ticker.upper()
    event = (event_ticker or "").upper()
    for name in plan.events:
        if event == name or ticker.startswith(name + "-"):
            return f"opened (event {name})"
    for name in plan.series:
        if event.startswith(name + "-") or ticker.startswith(name + "-"):
            return f"opened (series {name})"
    return None
