"""Endpoints as data: one entry per Kalshi REST endpoint the project uses.

Each ``Endpoint`` names its path template (relative to ``/trade-api/v2``), the key holding the rows
(``data_key``; None for single objects returned at the top level), the natural primary key, default query
params, whether a key is needed (``auth``: ``none`` | ``optional`` = sign when a key exists | ``required``), the
``/historical/*`` twin, the token cost (notes §5: default 10; single-order GET 2; cancels 2; batch create 10 per
item; batch cancel 2 per item) and whether it is cursor-paginated. ``route(method, path)`` finds the entry for a
concrete request (cached) so the client can decide signing and pacing without per-request regex work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

__all__ = ["Endpoint", "ENDPOINTS", "Route", "route", "fill_path", "DEFAULT_COST"]

DEFAULT_COST = 10


def fill_path(template: str, **segments: str) -> str:
    """``template`` with its ``{name}`` placeholders filled, each value percent-encoded as one path segment
    (a ticker like ``../x`` or ``X?a=b`` cannot leave its segment)."""
    for name, value in segments.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"path segment {name} must be a non-empty string, not {value!r}")
    return template.format(**{name: quote(value, safe="") for name, value in segments.items()})


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    data_key: str | None = None
    primary_key: tuple[str, ...] = ()
    default_params: dict[str, Any] = field(default_factory=dict)
    auth: str = "none"  # none | optional | required
    historical: str | None = None
    cost: int = DEFAULT_COST
    cost_per_item: str | None = None  # JSON body list whose length multiplies the cost (batches)
    paginated: bool = False
    method: str = "GET"
    object_key: str | None = None  # single-object responses: the key holding the object


_PAGE = {"limit": 1000}
_E = Endpoint
ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in [
        _E("exchange_status", "/exchange/status"),
        _E("exchange_schedule", "/exchange/schedule", object_key="schedule"),
        _E("user_data_timestamp", "/exchange/user_data_timestamp"),
        _E("series_list", "/series", data_key="series", primary_key=("ticker",)),
        _E("series", "/series/{series_ticker}", object_key="series"),
        # one response, no cursor; show_historical=true: past changes too (the default lists upcoming ones only)
        _E(
            "series_fee_changes",
            "/series/fee_changes",
            data_key="series_fee_change_arr",
            primary_key=("id",),
            default_params={"show_historical": True},
        ),
        _E(
            "event_fee_changes",
            "/events/fee_changes",
            data_key="event_fee_changes",
            primary_key=("id",),
            default_params=_PAGE,
            paginated=True,
        ),
        _E(
            "events",
            "/events",
            data_key="events",
            primary_key=("event_ticker",),
            default_params={"limit": 200},
            paginated=True,
        ),
        _E("event", "/events/{event_ticker}", object_key="event"),
        _E(
            "markets",
            "/markets",
            data_key="markets",
            primary_key=("ticker",),
            default_params={"limit": 1000, "mve_filter": "exclude"},
            historical="historical_markets",
            paginated=True,
        ),
        _E("market", "/markets/{ticker}", object_key="market", historical="historical_market"),
        _E("orderbook", "/markets/{ticker}/orderbook", auth="optional"),
        _E(
            "orderbooks",
            "/markets/orderbooks",
            data_key="orderbooks",
            primary_key=("ticker",),
            auth="optional",
        ),
        _E(
            "trades",
            "/markets/trades",
            data_key="trades",
            primary_key=("trade_id",),
            default_params=_PAGE,
            historical="historical_trades",
            paginated=True,
        ),
        _E(
            "candlesticks",
            "/series/{series_ticker}/markets/{ticker}/candlesticks",
            data_key="candlesticks",
            primary_key=("end_period_ts",),
            historical="historical_candlesticks",
        ),
        _E("candlesticks_batch", "/markets/candlesticks", data_key="markets", primary_key=("market_ticker",)),
        _E("historical_cutoff", "/historical/cutoff"),
        _E(
            "historical_markets",
            "/historical/markets",
            data_key="markets",
            primary_key=("ticker",),
            default_params={"limit": 1000, "mve_filter": "exclude"},
            paginated=True,
        ),
        _E("historical_market", "/historical/markets/{ticker}", object_key="market"),
        _E(
            "historical_candlesticks",
            "/historical/markets/{ticker}/candlesticks",
            data_key="candlesticks",
            primary_key=("end_period_ts",),
        ),
        _E(
            "historical_trades",
            "/historical/trades",
            data_key="trades",
            primary_key=("trade_id",),
            default_params=_PAGE,
            paginated=True,
        ),
        _E(
            "historical_fills",
            "/historical/fills",
            data_key="fills",
            primary_key=("fill_id",),
            default_params=_PAGE,
            auth="required",
            paginated=True,
        ),
        _E(
            "historical_orders",
            "/historical/orders",
            data_key="orders",
            primary_key=("order_id",),
            default_params=_PAGE,
            auth="required",
            paginated=True,
        ),
        _E(
            "historical_positions",
            "/historical/positions",
            data_key="market_positions",
            primary_key=("ticker",),
            default_params=_PAGE,
            auth="required",
            paginated=True,
        ),
        _E("balance", "/portfolio/balance", auth="required"),
        # cash flows (spec v3.21 GetDeposits / GetWithdrawals): limit 1-500, cursor, no time filter
        _E(
            "deposits",
            "/portfolio/deposits",
            data_key="deposits",
            primary_key=("id",),
            default_params={"limit": 500},
            auth="required",
            paginated=True,
        ),
        _E(
            "withdrawals",
            "/portfolio/withdrawals",
            data_key="withdrawals",
            primary_key=("id",),
            default_params={"limit": 500},
            auth="required",
            paginated=True,
        ),
        _E(
            "positions",
            "/portfolio/positions",
            data_key="market_positions",
            primary_key=("ticker",),
            default_params=_PAGE,
            auth="required",
            historical="historical_positions",
            paginated=True,
        ),
        _E(
            "event_positions",
            "/portfolio/positions",
            data_key="event_positions",
            primary_key=("event_ticker",),
            default_params=_PAGE,
            auth="required",
            paginated=True,
        ),
        _E(
            "fills",
            "/portfolio/fills",
            data_key="fills",
            primary_key=("fill_id",),
            default_params=_PAGE,
            auth="required",
            historical="historical_fills",
            paginated=True,
        ),
        _E(
            "settlements",
            "/portfolio/settlements",
            data_key="settlements",
            primary_key=("ticker", "settled_time"),
            default_params=_PAGE,
            auth="required",
            paginated=True,
        ),
        _E(
            "orders",
            "/portfolio/orders",
            data_key="orders",
            primary_key=("order_id",),
            default_params=_PAGE,
            auth="required",
            historical="historical_orders",
            paginated=True,
        ),
        _E("order", "/portfolio/orders/{order_id}", object_key="order", auth="required", cost=2),
        _E("queue_position", "/portfolio/orders/{order_id}/queue_position", auth="required"),
        _E("queue_positions", "/portfolio/orders/queue_positions", auth="required"),
        # --- multivariate (combo) markets: their events, collections and the combo markets themselves ---------
        # /events excludes multivariate events; combos are read apart from `markets` (mve_filter=only) so the
        # default market pulls stay fast (combos can be the bulk of /markets)
        _E(
            "multivariate_events",
            "/events/multivariate",
            data_key="events",
            primary_key=("event_ticker",),
            default_params={"limit": 200},
            paginated=True,
        ),
        _E(
            "multivariate_collections",
            "/multivariate_event_collections",
            data_key="multivariate_contracts",
            primary_key=("collection_ticker",),
            default_params={"limit": 200},
            paginated=True,
        ),
        _E(
            "multivariate_collection",
            "/multivariate_event_collections/{collection_ticker}",
            object_key="multivariate_contract",
        ),
        _E(
            "combo_markets",
            "/markets",
            data_key="markets",
            primary_key=("ticker",),
            default_params={"limit": 1000, "mve_filter": "only"},
            paginated=True,
        ),
        _E("account_limits", "/account/limits", auth="required"),
        # --- subaccounts (spec v3.21): 0 = the primary account, 1-63 numbered ones ----------------------------
        _E(
            "subaccount_balances",
            "/portfolio/subaccounts/balances",
            data_key="subaccount_balances",
            primary_key=("subaccount_number",),
            auth="required",
        ),
        _E(
            "subaccount_transfers",
            "/portfolio/subaccounts/transfers",
            data_key="transfers",
            primary_key=("transfer_id",),
            default_params=_PAGE,
            auth="required",
            paginated=True,
        ),
        _E("subaccount_create", "/portfolio/subaccounts", auth="required", method="POST"),
        _E("subaccount_transfer", "/portfolio/subaccounts/transfer", auth="required", method="POST"),
        _E(
            "subaccount_netting",
            "/portfolio/subaccounts/netting",
            data_key="netting_configs",
            auth="required",
        ),
        _E("subaccount_netting_update", "/portfolio/subaccounts/netting", auth="required", method="PUT"),
        _E("endpoint_costs", "/account/endpoint_costs"),
        # V2 order writes (the orders module builds bodies; listed here for auth and token costs)
        _E("create_order", "/portfolio/events/orders", method="POST", auth="required"),
        _E("cancel_all_orders", "/portfolio/events/orders", method="DELETE", auth="required", cost=2),
        _E(
            "batch_create_orders",
            "/portfolio/events/orders/batched",
            method="POST",
            auth="required",
            cost=10,
            cost_per_item="orders",
        ),
        _E(
            "batch_cancel_orders",
            "/portfolio/events/orders/batched",
            method="DELETE",
            auth="required",
            cost=2,
            cost_per_item="orders",
        ),
        _E("cancel_order", "/portfolio/events/orders/{order_id}", method="DELETE", auth="required", cost=2),
        _E("amend_order", "/portfolio/events/orders/{order_id}/amend", method="POST", auth="required"),
        _E("decrease_order", "/portfolio/events/orders/{order_id}/decrease", method="POST", auth="required"),
        # order groups: a contracts cap over a rolling 15-second window (kalshi_extract.orders.groups)
        _E("order_groups", "/portfolio/order_groups", data_key="order_groups", auth="required"),
        _E("create_order_group", "/portfolio/order_groups/create", method="POST", auth="required"),
        _E("order_group", "/portfolio/order_groups/{order_group_id}", auth="required"),
        _E(
            "delete_order_group", "/portfolio/order_groups/{order_group_id}", method="DELETE", auth="required"
        ),
        _E(
            "reset_order_group",
            "/portfolio/order_groups/{order_group_id}/reset",
            method="PUT",
            auth="required",
        ),
        _E(
            "trigger_order_group",
            "/portfolio/order_groups/{order_group_id}/trigger",
            method="PUT",
            auth="required",
        ),
        _E(
            "update_order_group_limit",
            "/portfolio/order_groups/{order_group_id}/limit",
            method="PUT",
            auth="required",
        ),
    ]
}


@dataclass(frozen=True, slots=True)
class Route:
    """What the client needs per request: signing rule, bucket and base token cost."""

    auth: str
    write: bool
    cost: int
    cost_per_item: str | None
    endpoint: Endpoint | None


def _compile(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[a-z_]+\\\}", r"[^/]+", re.escape(template)) + "$")


_EXACT: dict[tuple[str, str], Endpoint] = {}
_PATTERNS: list[tuple[str, re.Pattern, Endpoint]] = []
for _ep in ENDPOINTS.values():
    if "{" in _ep.path:
        _PATTERNS.append((_ep.method, _compile(_ep.path), _ep))
    else:
        _EXACT.setdefault((_ep.method, _ep.path), _ep)
# literal paths that a template would also match must win: exact dict is consulted first.

_PRIVATE_PREFIXES = (
    "/portfolio",
    "/account",
    "/api_keys",
    "/communications",
    "/fcm",
    "/historical/fills",
    "/historical/orders",
    "/historical/positions",
)
_route_cache: dict[tuple[str, str], Route] = {}
_CACHE_MAX = 4096


def route(method: str, path: str) -> Route:
    """The Route for a concrete ``method`` and ``path`` (relative to the base URL, no query string)."""
    key = (method, path)
    hit = _route_cache.get(key)
    if hit is not None:
        return hit
    ep = _EXACT.get(key)
    if ep is None:
        for m, pattern, candidate in _PATTERNS:
            if m == method and pattern.match(path):
                ep = candidate
                break
    write = method != "GET"
    if ep is not None:
        result = Route(ep.auth, write, ep.cost, ep.cost_per_item, ep)
    else:
        auth = "required" if path.startswith(_PRIVATE_PREFIXES) else "optional"
        result = Route(auth, write, DEFAULT_COST, None, None)
    if len(_route_cache) >= _CACHE_MAX:
        _route_cache.clear()
    _route_cache[key] = result
    return result


def request_cost(r: Route, json_body: Any) -> int:
    """Tokens a request costs: per-item for batches (minimum one item), else the route's cost."""
    if r.cost_per_item and isinstance(json_body, dict):
        items = json_body.get(r.cost_per_item)
        if isinstance(items, list):
            return r.cost * max(1, len(items))
    return r.cost
