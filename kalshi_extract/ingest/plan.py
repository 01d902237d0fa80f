"""Which streams a pull covers, checked before anything runs. Imports no Prefect.

`plan_pull` turns user input (stream names, series, tickers, dates as text) into a `PullPlan`: the market-data
streams, the portfolio streams and a `Selection`. Every problem a user can make (unknown stream, malformed date,
a private stream with no API key) is raised here as a one-line `ConfigError`, before a client or the lake is
touched, so bad input changes nothing.

Decisions (the contract is silent):
- With no streams named, a pull covers every market-data stream, plus the portfolio streams when an API key is
  configured (public data needs no key).
- Naming a portfolio stream without a key is an error that names the two key variables.
- Dates: `YYYY-MM-DD` (midnight UTC), an ISO-8601 datetime (naive = UTC), or Unix seconds.
- Market-data streams run in two waves: reference streams first (series, events, markets, exchange status),
  then the streams that may enumerate markets (trades, candlesticks, order book snapshots).
- `split` (`--split N|auto`): a stream that can be split (`kalshi_extract.ingest.split.splits`: trades pulled
  un-narrowed) runs as N time-window shards, each its own task. `auto` (stored as 0) = one shard per worker:
  the Dask cluster's workers in a Dask run, else `KALSHI_CONCURRENCY` threads. 1 (the default) = no split. Asking
  to split when no stream of the pull can be split is an error (it would silently do nothing).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from kalshi_extract.api.auth import load_private_key
from kalshi_extract.errors import ConfigError, PullFailed

__all__ = [
    "MARKET_DATA_STREAMS",
    "ON_REQUEST_STREAMS",
    "PORTFOLIO_STREAMS",
    "SECOND_WAVE",
    "PullFailed",
    "PullPlan",
    "has_api_key",
    "parse_split",
    "splits",
    "parse_when",
    "plan_pull",
    "waves",
]

# Flow composition: which flow pulls which stream (the stream registry itself is the lake's).
MARKET_DATA_STREAMS: tuple[str, ...] = (
    "series",
    "events",
    "markets",
    "exchange_status",
    "series_fee_changes",
    "event_fee_changes",
    "mve_collections",
    "trades",
    "candlesticks",
    "orderbook_snapshots",
)
# Market-data streams pulled only when named (`--stream combo_markets`), never by a pull of all market data: on
# Kalshi every combo is its own market and its own event, so they can outnumber everything else.
ON_REQUEST_STREAMS: tuple[str, ...] = ("mve_events", "combo_markets")
# Streams that read the market reference data first (second wave of pull_market_data).
SECOND_WAVE: frozenset[str] = frozenset({"trades", "candlesticks", "orderbook_snapshots"})
PORTFOLIO_STREAMS: tuple[str, ...] = (
    "fills",
    "settlements",
    "orders",
    "positions",
    "event_positions",
    "historical_positions",
    "balance",
    "deposits",
    "withdrawals",
    # subaccounts (#18)
    "subaccount_balances",
    "subaccount_transfers",
)


def waves(streams: Iterable[str]) -> list[tuple[str, ...]]:
    """The streams in the order they run: everything else first, then `SECOND_WAVE` (which reads the reference
    data the first wave lands); empty waves left out, order within a wave kept."""
    streams = list(streams)
    first = tuple(s for s in streams if s not in SECOND_WAVE)
    second = tuple(s for s in streams if s in SECOND_WAVE)
    return [w for w in (first, second) if w]


@dataclass(frozen=True)
class PullPlan:
    """What one `kalshi-lake pull` (or a scheduled refresh) will do."""

    market_streams: tuple[str, ...]
    portfolio_streams: tuple[str, ...]
    series: tuple[str, ...] | None = None
    tickers: tuple[str, ...] | None = None
    since: datetime | None = None
    until: datetime | None = None
    split: int = 1  # shards per splittable stream; 0 = auto (one per worker); 1 = no split

    @property
    def streams(self) -> tuple[str, ...]:
        return self.market_streams + self.portfolio_streams

    def selection(self):
        """The lake's `Selection` for this plan."""
        from kalshi_extract.ingest.pull import Selection

        return Selection(
            series=list(self.series) if self.series else None,
            tickers=list(self.tickers) if self.tickers else None,
            since=self.since,
            until=self.until,
        )

    def flow_parameters(self) -> dict:
        """JSON-safe parameters for the flows (dates as ISO strings)."""
        return {
            "series": list(self.series) if self.series else None,
            "tickers": list(self.tickers) if self.tickers else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "split": self.split,
        }

    def shards(self, stream: str, workers: int) -> int:
        """How many shards ``stream`` runs as (1: not split), ``workers`` being what `auto` means here."""
        if self.split == 1 or not splits(stream, self.selection()):
            return 1
        return max(1, workers if self.split == 0 else self.split)


def has_api_key(settings) -> bool:
    """True when settings carry a key id and a private key (path or PEM text)."""
    key = getattr(settings, "private_key", None) or getattr(settings, "private_key_path", None)
    return bool(getattr(settings, "api_key_id", None) and key)


def parse_when(text: str | datetime | None, option: str = "--since") -> datetime | None:
    """Parse a user date: YYYY-MM-DD, ISO-8601 datetime (naive = UTC) or Unix seconds; raises ConfigError."""
    if text is None or text == "":
        return None
    if isinstance(text, datetime):
        return text if text.tzinfo else text.replace(tzinfo=UTC)
    raw = str(text).strip()
    if raw.isdigit():
        return datetime.fromtimestamp(int(raw), tz=UTC)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{option} {raw!r} is not a date: use YYYY-MM-DD, an ISO-8601 time (2024-05-01T12:00:00Z) "
            "or Unix seconds"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


MAX_SPLIT = 64


def splits(stream: str, selection) -> bool:
    """True when ``stream`` pulled with ``selection`` can run as time-window shards (`kalshi_extract.ingest.split`):
    a public stream of the time rule with one state partition (un-narrowed; no resting orders to re-read, no
    subaccounts)."""
    from kalshi_extract.ingest.streams import get_stream

    sdef = get_stream(stream)
    return (
        sdef.rule == "time"
        and not sdef.private
        and not sdef.recheck_resting
        and not sdef.per_subaccount
        and not selection.narrowed
    )


def parse_split(value: int | str | None) -> int:
    """``--split``: a whole number of shards (1 = no split) or ``auto`` (also 0: one per worker); raises
    ConfigError."""
    if value is None or value == "":
        return 1
    raw = str(value).strip().lower()
    if raw in ("auto", "0"):
        return 0
    if raw.isdigit() and 1 <= int(raw) <= MAX_SPLIT:
        return int(raw)
    raise ConfigError(f"--split {value!r} is not a number of shards: use 1..{MAX_SPLIT} or auto")


def _known_streams() -> tuple[str, ...]:
    from kalshi_extract.ingest.streams import STREAM_NAMES

    return tuple(STREAM_NAMES)


def _check_stream(name: str, known: Iterable[str]) -> None:
    known = list(known)
    if name in known:
        return
    from kalshi_extract.lake.schemas import ORDER_EVENTS_STREAM

    if name == ORDER_EVENTS_STREAM:  # a lake stream kalshi-lake writes itself
        raise ConfigError(f"stream {name!r} is not pulled from the API: kalshi-lake writes it (order module)")
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown stream {name!r}{hint}; streams: {', '.join(known)}")


def _clean(values: Iterable[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in str(v).split(",") if p.strip())
    return tuple(dict.fromkeys(out)) or None


def plan_pull(
    settings,
    streams: Iterable[str] | None = None,
    *,
    series: Iterable[str] | None = None,
    tickers: Iterable[str] | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    include_portfolio: bool | None = None,
    split: int | str | None = None,
) -> PullPlan:
    """Validate a pull request and split it into market-data and portfolio streams.

    `include_portfolio=None` (default) adds the portfolio streams when no stream is named and a key exists.
    Raises ConfigError with a one-line reason; touches nothing.
    """
    known = _known_streams()
    named = _clean(streams)
    for name in named or ():
        _check_stream(name, known)
    since_dt = parse_when(since, "--since")
    until_dt = parse_when(until, "--until")
    if since_dt and until_dt and since_dt >= until_dt:
        raise ConfigError(f"--since ({since_dt.isoformat()}) must be before --until ({until_dt.isoformat()})")
    keyed = has_api_key(settings)
    if named:
        market = tuple(s for s in MARKET_DATA_STREAMS + ON_REQUEST_STREAMS if s in named)
        portfolio = tuple(s for s in PORTFOLIO_STREAMS if s in named)
        other = [s for s in named if s not in market and s not in portfolio]
        if other:
            raise ConfigError(
                f"stream {other[0]!r} is not pulled from the API (it is written by another part of kalshi-lake)"
            )
        if portfolio and not keyed:
            raise ConfigError(
                f"stream {portfolio[0]!r} is private: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH "
                "(or KALSHI_PRIVATE_KEY)"
            )
    else:
        market = tuple(s for s in MARKET_DATA_STREAMS if s in known)
        want_portfolio = keyed if include_portfolio is None else include_portfolio
        if want_portfolio and not keyed:
            raise ConfigError(
                "the portfolio streams are private: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH "
                "(or KALSHI_PRIVATE_KEY)"
            )
        portfolio = tuple(s for s in PORTFOLIO_STREAMS if s in known) if want_portfolio else ()
    shards = parse_split(split)
    if portfolio:  # an unusable key fails here, once, before anything is pulled or written
        load_private_key(settings)
    plan = PullPlan(
        market_streams=market,
        portfolio_streams=portfolio,
        series=_clean(series),
        tickers=_clean(tickers),
        since=since_dt,
        until=until_dt,
        split=shards,
    )
    if shards != 1 and all(plan.shards(s, 2) == 1 for s in plan.streams):
        raise ConfigError(
            "--split: no stream of this pull can be split (only trades pulled without --series/--tickers)"
        )
    return plan
