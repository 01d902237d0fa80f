"""``KalshiClient``: the one Kalshi client everything shares (pulls, orders, CLI, notebooks).

```python
from kalshi_extract import KalshiClient
with KalshiClient.from_env() as c:
    c.get_balance()
    for market in c.get_markets(status="open"):
        ...
    for page in c.paginate("/markets/trades", {"ticker": "X", "limit": 1000}, data_key="trades"):
        checkpoint(page.cursor)
```
Generic calls: ``get``/``get_bytes``/``get_with_time``/``post``/``delete``/``paginate``; typed methods come from the endpoint
registry (``kalshi_extract.api.endpoints``). Paths are relative to the base URL (``/markets``). Signing follows the
registry: public endpoints are not signed (saves CPU), the orderbook is signed when a key exists, private
endpoints need a key (``ConfigError`` naming KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH otherwise), unknown
paths are signed when a key exists.

Typed list methods (``get_markets``, ``get_trades`` …) return iterators over items across all pages; single-object
methods return the inner object (``get_market`` → the market dict); ``get_balance``, ``get_exchange_status``,
``get_historical_cutoff`` and ``get_orderbook`` return the whole response body.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from kalshi_extract.api.auth import Signer
from kalshi_extract.api.endpoints import ENDPOINTS, Endpoint, route
from kalshi_extract.api.http import ClientStats, HttpClient, Reply, RetryPolicy
from kalshi_extract.api.pacer import Pacer, shared_pacer
from kalshi_extract.api.paginator import Page, paginate
from kalshi_extract.errors import ConfigError, KalshiLakeError, TransportError
from kalshi_extract.settings import Settings

__all__ = ["KalshiClient", "asks_for_limits", "is_loopback"]

_log = logging.getLogger(__name__)


def is_loopback(url: str) -> bool:
    """True when the URL's host is this machine (the local exchange)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def asks_for_limits(settings: Settings, base_url: str) -> bool:
    """Whether the pacer asks ``GET /account/limits`` instead of using the ``KALSHI_TIER`` table: unless the tier
    was set explicitly, when a key is configured (Kalshi answers for the key's account) or the exchange is the
    local one (it answers unsigned)."""
    if settings.tier_explicit:
        return False
    return bool(settings.api_key_id) or is_loopback(base_url)


def _seg(value: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty ticker/id string, got {value!r}")
    return quote(value, safe="")


class KalshiClient:
    """Kalshi Trade API v2 client: pooled session, signing, shared pacing, GET retries, one paginator."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        session=None,
    ) -> None:
        self.settings = settings if settings is not None else Settings.load()
        s = self.settings
        self.base_url = s.base_url
        self._http = HttpClient(
            self.base_url,
            signer_factory=(lambda: Signer.from_settings(s)) if s.has_key else None,
            stats=ClientStats(),
            timeout=timeout,
            retry=retry,
            pool_size=max(16, 2 * s.concurrency),
            session=session,
        )
        if pacer is not None:
            self._http.pacer = pacer
        else:  # shared per process and (base_url, key id); built on the first request, not here
            self._http._pacer_factory = lambda: shared_pacer(self.base_url, s.api_key_id, self._build_pacer)

    @classmethod
    def from_env(cls, **kwargs) -> KalshiClient:
        """A client configured from the environment (and ``kalshi-lake.toml``)."""
        return cls(Settings.load(), **kwargs)

    # --- plumbing ----------------------------------------------------------------------------------------------
    def _build_pacer(self) -> Pacer:
        s = self.settings
        machine = (self.base_url, s.api_key_id or "")  # one budget per key for every process of this machine
        if not asks_for_limits(s, self.base_url):
            return Pacer.for_tier(s.tier, machine)
        # The exchange tells us the key's limits (Kalshi: the account's tier; the local exchange: its configured
        # tier, unlimited by default). One request, sent once: whether a failure is worth another try is the
        # HTTP layer's one retry decision, and for this question the answer is no. A host that refused before it
        # ever answered (wrong address, exchange not started) is the caller's error: it is raised here, nothing
        # is cached, and the command stops with one line after one connection attempt instead of pacing at the
        # fallback tier and failing the same way a request later. Any other failure falls back to the
        # configured tier at once.
        once = dict(retry=RetryPolicy(max_retries=0), pace=False)
        try:
            try:
                _, limits = self._http.request("GET", "/account/limits", auth="optional", **once)
            except ConfigError:  # an unusable key must not stop public use; ask unsigned
                _, limits = self._http.request("GET", "/account/limits", auth="none", **once)
            pacer = Pacer.from_limits(limits, machine)
        except TransportError as exc:
            if not exc.maybe_sent and not self._http.answered:
                raise
            failure: Exception = exc
        except (KalshiLakeError, ValueError, KeyError, TypeError) as exc:
            failure = exc
        else:
            if pacer.read is not None:  # the question itself spent read tokens at the exchange
                pacer.read.reserve(route("GET", "/account/limits").cost)
            return pacer
        level = logging.DEBUG if isinstance(failure, TransportError) else logging.WARNING
        _log.log(
            level, "could not read %s/account/limits (%s); pacing at tier %s", self.base_url, failure, s.tier
        )
        return Pacer.for_tier(s.tier, machine)

    @property
    def pacer(self) -> Pacer:
        return self._http.pacer

    @property
    def stats(self) -> ClientStats:
        """Thread-safe counters: requests, retries, throttled_429, bytes, errors (``.snapshot()`` for a copy)."""
        return self._http.stats

    @property
    def has_key(self) -> bool:
        return self._http.has_key

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        pacer = self._http._pacer
        return (
            f"KalshiClient(base_url={self.base_url!r}, key_id={self.settings.api_key_id!r}, pacer={pacer!r})"
        )

    # --- generic calls -----------------------------------------------------------------------------------------
    def get(self, path: str, params: dict | None = None) -> dict:
        """GET ``path`` (relative to the base URL) and return the parsed JSON."""
        return self._http.request("GET", path, params)[1]

    def exchange_now(self, ask: bool = False) -> datetime | None:
        """The exchange's clock now, from the ``Date`` headers of its answers so far (see ``HttpClient.exchange_now``).
        ``ask``: when nothing answered yet, ask ``GET /exchange/status`` once to learn it. None when unknown."""
        now = self._http.exchange_now()
        if now is None and ask:
            try:
                self._http.request("GET", "/exchange/status", retry=RetryPolicy(max_retries=0))
            except KalshiLakeError:
                return None
            now = self._http.exchange_now()
        return now

    def get_with_time(self, path: str, params: dict | None = None) -> tuple[Any, datetime | None]:
        """GET ``path`` and return ``(parsed JSON, server time)``: the server's clock from the response's ``Date``
        header (aware UTC, whole seconds), or None when the header is absent or malformed."""
        reply = self._http.request("GET", path, params)
        return reply[1], reply.server_time

    def get_bytes(self, path: str, params: dict | None = None) -> bytes:
        """GET ``path`` and return the raw body (validated as JSON, so truncated bodies are retried)."""
        return self._http.request("GET", path, params)[0]

    def post(self, path: str, json: Any, params: dict | None = None) -> dict:
        """POST a JSON body once (never retried) and return the parsed response (None if empty)."""
        return self._http.request("POST", path, params, json)[1]

    def put(self, path: str, json: Any = None, params: dict | None = None) -> dict | None:
        """PUT once (never retried); the parsed response or None for an empty body."""
        return self._http.request("PUT", path, params, json)[1]

    def delete(self, path: str, params: dict | None = None, json: Any = None) -> dict | None:
        """DELETE once (never retried); the parsed response or None for an empty (204) body."""
        return self._http.request("DELETE", path, params, json)[1]

    paginate_decodes = True  # ``paginate`` accepts ``decode`` (a page body decoded column-wise by the caller)

    def paginate(
        self,
        path: str,
        params: dict | None = None,
        data_key: str = "trades",
        cursor: str | None = None,
        decode=None,
    ) -> Iterator[Page]:
        """Yield pages of a cursor-paginated list; ``page.cursor`` is the checkpoint to resume from. ``decode``:
        pages are not parsed here but handed raw to ``decode(body) -> (items, cursor) | None`` (see the paginator)."""
        raw = self._fetch_raw if decode is not None else None
        return paginate(self._fetch, path, params, data_key, cursor, decode=decode, fetch_raw=raw)

    def _fetch(self, path: str, params: dict) -> Reply:
        return self._http.request("GET", path, params)

    def _fetch_raw(self, path: str, params: dict) -> Reply:
        return self._http.request("GET", path, params, parse=False)

    # --- registry-driven helpers -------------------------------------------------------------------------------
    def _params(self, ep: Endpoint, params: dict) -> dict:
        merged = dict(ep.default_params)
        merged.update(params)
        return merged

    def _items(self, name: str, params: dict, path: str | None = None) -> Iterator[dict]:
        ep = ENDPOINTS[name]
        params = self._params(ep, params)
        cursor = params.pop("cursor", None)
        for page in paginate(self._fetch, path or ep.path, params, ep.data_key, cursor):
            yield from page.items

    def _object(self, name: str, path: str, params: dict | None = None) -> Any:
        ep = ENDPOINTS[name]
        data = self._http.request("GET", path, params)[1]
        if ep.object_key is not None and isinstance(data, dict) and ep.object_key in data:
            return data[ep.object_key]
        return data

    def endpoint_items(self, name: str, **params) -> Iterator[dict]:
        """Iterate the items of any paginated registry endpoint by name (``endpoint_items("fills", ticker=...)``)."""
        ep = ENDPOINTS[name]
        if not ep.paginated:
            raise ValueError(f"endpoint {name!r} is not a cursor-paginated list")
        return self._items(name, params)

    # --- exchange ----------------------------------------------------------------------------------------------
    def get_exchange_status(self) -> dict:
        return self._object("exchange_status", "/exchange/status")

    def get_exchange_schedule(self) -> dict:
        return self._object("exchange_schedule", "/exchange/schedule")

    def get_user_data_timestamp(self) -> dict:
        return self._object("user_data_timestamp", "/exchange/user_data_timestamp")

    def get_account_limits(self) -> dict:
        return self._object("account_limits", "/account/limits")

    # --- series / events / markets -----------------------------------------------------------------------------
    def get_series_list(self, **params) -> list[dict]:
        data = self._http.request("GET", "/series", params)[1]
        return (data or {}).get("series") or []

    def get_series(self, ticker: str) -> dict:
        return self._object("series", f"/series/{_seg(ticker)}")

    def get_events(self, **params) -> Iterator[dict]:
        return self._items("events", params)

    def get_event(self, ticker: str, **params) -> dict:
        return self._object("event", f"/events/{_seg(ticker)}", params or None)

    def get_markets(self, **params) -> Iterator[dict]:
        """All markets matching the filters (``mve_filter="exclude"`` unless given; pass None to drop it)."""
        return self._items("markets", params)

    def get_market(self, ticker: str) -> dict:
        return self._object("market", f"/markets/{_seg(ticker)}")

    def get_orderbook(self, ticker: str, depth: int = 0) -> dict:
        """The whole orderbook response (``{"orderbook_fp": {"yes_dollars": [...], "no_dollars": [...]}}``)."""
        return self._http.request("GET", f"/markets/{_seg(ticker)}/orderbook", {"depth": depth})[1]

    def get_orderbooks(self, tickers: Iterable[str]) -> list[dict]:
        """Books for many tickers (batched 100 per request): ``[{"ticker", "orderbook_fp"}, ...]``."""
        tickers = list(tickers)
        out: list[dict] = []
        for i in range(0, len(tickers), 100):
            data = self._http.request("GET", "/markets/orderbooks", {"tickers": tickers[i : i + 100]})[1]
            out.extend((data or {}).get("orderbooks") or [])
        return out

    def get_trades(self, **params) -> Iterator[dict]:
        return self._items("trades", params)

    def get_candlesticks(
        self, series: str, ticker: str, start_ts: int, end_ts: int, period_interval: int, **params
    ) -> list[dict]:
        params.update(start_ts=start_ts, end_ts=end_ts, period_interval=period_interval)
        path = f"/series/{_seg(series)}/markets/{_seg(ticker)}/candlesticks"
        data = self._http.request("GET", path, params)[1]
        return (data or {}).get("candlesticks") or []

    def get_candlesticks_batch(
        self, tickers: Iterable[str], start_ts: int, end_ts: int, period_interval: int, **params
    ) -> list[dict]:
        """``[{"market_ticker", "candlesticks"}]`` for many markets (100 tickers per request; the API caps a
        response at 10,000 candles, so size the time window accordingly)."""
        tickers = list(tickers)
        out: list[dict] = []
        for i in range(0, len(tickers), 100):
            q = dict(
                params,
                market_tickers=",".join(tickers[i : i + 100]),
                start_ts=start_ts,
                end_ts=end_ts,
                period_interval=period_interval,
            )
            data = self._http.request("GET", "/markets/candlesticks", q)[1]
            out.extend((data or {}).get("markets") or [])
        return out

    # --- historical --------------------------------------------------------------------------------------------
    def get_historical_cutoff(self) -> dict:
        return self._object("historical_cutoff", "/historical/cutoff")

    def get_historical_markets(self, **params) -> Iterator[dict]:
        return self._items("historical_markets", params)

    def get_historical_market(self, ticker: str) -> dict:
        return self._object("historical_market", f"/historical/markets/{_seg(ticker)}")

    def get_historical_candlesticks(
        self, ticker: str, start_ts: int, end_ts: int, period_interval: int, **params
    ) -> list[dict]:
        params.update(start_ts=start_ts, end_ts=end_ts, period_interval=period_interval)
        data = self._http.request("GET", f"/historical/markets/{_seg(ticker)}/candlesticks", params)[1]
        return (data or {}).get("candlesticks") or []

    def get_historical_trades(self, **params) -> Iterator[dict]:
        return self._items("historical_trades", params)

    def get_historical_fills(self, **params) -> Iterator[dict]:
        return self._items("historical_fills", params)

    def get_historical_orders(self, **params) -> Iterator[dict]:
        return self._items("historical_orders", params)

    def get_historical_positions(self, **params) -> Iterator[dict]:
        return self._items("historical_positions", params)

    # --- portfolio (private) -----------------------------------------------------------------------------------
    def get_balance(self, **params) -> dict:
        return self._object("balance", "/portfolio/balance", params or None)

    def get_deposits(self, **params) -> Iterator[dict]:
        return self._items("deposits", params)

    def get_withdrawals(self, **params) -> Iterator[dict]:
        return self._items("withdrawals", params)

    def get_positions(self, **params) -> Iterator[dict]:
        """Market positions across pages (``get_event_positions`` for the event-level list)."""
        return self._items("positions", params)

    def get_event_positions(self, **params) -> Iterator[dict]:
        return self._items("event_positions", params)

    def get_fills(self, **params) -> Iterator[dict]:
        return self._items("fills", params)

    def get_settlements(self, **params) -> Iterator[dict]:
        return self._items("settlements", params)

    def get_orders(self, **params) -> Iterator[dict]:
        return self._items("orders", params)

    def get_order(self, order_id: str) -> dict:
        return self._object("order", f"/portfolio/orders/{_seg(order_id)}")

    # --- subaccounts (spec v3.21; 0 = the primary account, 1-63 numbered subaccounts) ----------------------------
    def get_subaccount_balances(self) -> list[dict]:
        """``[{subaccount_number, balance (dollars text), updated_ts}]`` of every subaccount, the primary included."""
        data = self._object("subaccount_balances", "/portfolio/subaccounts/balances")
        return (data or {}).get("subaccount_balances") or []

    def get_subaccount_numbers(self) -> list[int]:
        """The subaccounts the account has (0 first): what a per-subaccount pull iterates."""
        numbers = {int(b["subaccount_number"]) for b in self.get_subaccount_balances()}
        return sorted(numbers | {0})

    def get_subaccount_transfers(self, **params) -> Iterator[dict]:
        """Transfers between subaccounts, every page (``transfer_id``, ``from_subaccount``, ``to_subaccount``,
        ``amount_cents``, ``created_ts``)."""
        return self._items("subaccount_transfers", params)

    def create_subaccount(self) -> int:
        """Create the next numbered subaccount (institutions and market makers only); returns its number."""
        data = self._http.request("POST", "/portfolio/subaccounts", None, {})[1]
        return int((data or {})["subaccount_number"])

    def transfer_between_subaccounts(
        self,
        from_subaccount: int,
        to_subaccount: int,
        amount_cents: int,
        client_transfer_id: str | None = None,
    ) -> str:
        """Move whole cents between two subaccounts (sent once, never retried); returns the
        ``client_transfer_id`` (a new UUID unless given): re-send the same id to retry without moving twice."""
        for name, v in (("from_subaccount", from_subaccount), ("to_subaccount", to_subaccount)):
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 63:
                raise ValueError(f"{name} must be 0 (primary) or 1-63, not {v!r}")
        if not isinstance(amount_cents, int) or isinstance(amount_cents, bool) or amount_cents <= 0:
            raise ValueError(f"amount_cents must be a positive integer, not {amount_cents!r}")
        tid = client_transfer_id or str(uuid.uuid4())
        body = {
            "client_transfer_id": tid,
            "from_subaccount": from_subaccount,
            "to_subaccount": to_subaccount,
            "amount_cents": amount_cents,
        }
        self._http.request("POST", "/portfolio/subaccounts/transfer", None, body)
        return tid

    def get_subaccount_netting(self) -> list[dict]:
        """``[{subaccount_number, enabled}]``."""
        data = self._object("subaccount_netting", "/portfolio/subaccounts/netting")
        return (data or {}).get("netting_configs") or []

    def set_subaccount_netting(self, subaccount_number: int, enabled: bool) -> None:
        self._http.request(
            "PUT",
            "/portfolio/subaccounts/netting",
            None,
            {"subaccount_number": subaccount_number, "enabled": enabled},
        )
