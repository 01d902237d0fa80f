"""The Starlette application: routes, authentication, rate limits, faults and the request log.

Every ``/trade-api/v2`` route goes through :meth:`Api.endpoint`, which in order: logs the request,
applies latency, charges the token bucket (429 ``{"error": "too many requests"}``), injects a random 5xx,
checks the signature when the route needs it (or when key headers are sent to a public route), runs the
view under the exchange lock and finally may truncate the body or reset the connection mid-body.
The request log holds ``{method, path, query, status, key_id}`` per request; ``status`` is -1 when the
response was dropped or the connection reset on purpose, -2 when the body was truncated on purpose.
``drop_order_response`` applies to single and batched order creates. ``/account/limits`` answers without
a key too (the client's pacer asks it before it has one) but checks a key when one is sent.
Every response (API, control, 404/405, injected faults) carries a ``Date`` header (RFC 7231, whole seconds)
read from the *simulated* clock, as a real server's Date reads its own clock: clients stamp snapshots with
it. The servers run uvicorn with ``date_header=False`` so uvicorn's wall-clock Date never competes.
The WebSocket path ``/trade-api/ws/v2`` bypasses the Starlette routes (:class:`Entry`) and is served by
``kalshi_sim.ws.Hub``, which checks the upgrade's signature with :meth:`Api.authenticate_headers`.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import threading
import time
from dataclasses import asdict, dataclass

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kalshi_sim import cash
from kalshi_sim import order_groups as og
from kalshi_sim import subaccounts as subs
from kalshi_sim import views_control as vc
from kalshi_sim import views_history as vh
from kalshi_sim import views_multivariate as vmve
from kalshi_sim import views_orders as vo
from kalshi_sim import views_portfolio as vp
from kalshi_sim import views_public as vpub
from kalshi_sim.accounts import Account, load_public_key, new_key_pair, verify_signature
from kalshi_sim.http import ApiError, Query
from kalshi_sim.ws import HEARTBEAT_SECONDS, MAX_QUEUE, WS_PATH, Hub

PREFIX = "/trade-api/v2"


@dataclass
class Faults:
    tier: str | None = None  # rate-limit tier (None = unlimited)
    error_rate: float = 0.0  # share of requests answered with a random 5xx
    latency_ms: int = 0  # added to every request
    reset_rate: float = 0.0  # share of responses cut mid-body by a connection reset
    truncate_rate: float = 0.0  # share of responses whose JSON body is truncated
    drop_order_response: int = 0  # next N order creates are executed, then the response is dropped
    hold_order_creates_ms: int = 0  # order creates (only) wait this long at the exchange before they execute
    ws_drop_messages: int = 0  # WebSocket: skip the next N seq-carrying frames (the client sees a gap)
    ws_cut_connections: int = 0  # WebSocket: cut the next N connections without a close frame
    ws_stall_seconds: float = 0.0  # WebSocket: open connections send nothing for this long (applied once)
    ws_allow_anonymous: bool = False  # WebSocket: accept unsigned connections (public channels only)

    def update(self, values: dict) -> None:
        names = {"rate_limit_tier": "tier", **{k: k for k in asdict(self)}}
        for k, v in values.items():
            if k not in names:
                raise ValueError(f"unknown fault {k!r}; known: {', '.join(sorted(names))}")
            attr = names[k]
            if attr == "tier":
                if v not in (None, *vpub.TIERS):
                    raise ValueError(f"unknown tier {v!r}; use one of {', '.join(vpub.TIERS)}")
                v = None if v == "unlimited" else v
            elif attr in (
                "latency_ms",
                "drop_order_response",
                "hold_order_creates_ms",
                "ws_drop_messages",
                "ws_cut_connections",
            ):
                v = int(v)
                if v < 0:
                    raise ValueError(f"{k} must be ≥ 0")
            elif attr == "ws_stall_seconds":
                v = float(v)
                if v < 0:
                    raise ValueError(f"{k} must be ≥ 0")
            elif attr == "ws_allow_anonymous":
                if not isinstance(v, bool):
                    raise ValueError(f"{k} must be true or false")
            else:
                v = float(v)
                if not 0.0 <= v <= 1.0:
                    raise ValueError(f"{k} must be between 0 and 1")
            setattr(self, attr, v)


class Bucket:
    __slots__ = ("tokens", "stamp")

    def __init__(self, capacity: int) -> None:
        self.tokens = float(capacity)
        self.stamp = time.monotonic()


class Api:
    def __init__(
        self,
        ex,
        faults: Faults | None = None,
        ws_heartbeat: float = HEARTBEAT_SECONDS,
        ws_max_queue: int = MAX_QUEUE,
    ) -> None:
        self.ex = ex
        self.faults = faults or Faults()
        self.log: list[dict] = []
        self.log_lock = threading.Lock()
        self.buckets: dict[tuple, Bucket] = {}
        self.fault_rng = random.Random(ex.seed * 31 + 5)
        self.ws = Hub(self, ws_heartbeat, ws_max_queue)

    def set_faults(self, values: dict) -> None:
        """Change fault switches; WebSocket connections are woken so a cut or stall applies at once."""
        self.faults.update(values)
        self.ws.poke()

    # -- accounts -------------------------------------------------------------------------------
    def create_account(
        self, balance_cents: int, public_key_pem: str | None = None, direct_member: bool = True
    ):
        """Register an account; returns (Account, private PEM or None when the caller brought a key).

        ``direct_member``: the balance grid of fee rounding, $0.0001 (direct) or $0.01 (non-direct)."""
        if balance_cents < 0:
            raise ValueError("balance_cents must be ≥ 0")
        if not isinstance(direct_member, bool):
            raise ValueError("direct_member must be a boolean")
        pem = None
        if public_key_pem:
            try:
                public = load_public_key(public_key_pem)
            except (ValueError, TypeError):
                raise ValueError("public_key_pem is not a PEM public key") from None
        else:
            pem, public = new_key_pair()
        ex = self.ex
        with ex.lock:
            key_id = ex.new_id()
            acct = Account(
                key_id=key_id,
                user_id=ex.new_id(),
                public_key=public,
                balance=balance_cents * 10_000,
                created_us=ex.now_us,
                updated_us=ex.now_us,
                direct_member=direct_member,
            )
            ex.accounts[key_id] = acct
        return acct, pem

    # -- rate limits ----------------------------------------------------------------------------
    def charge(self, who: str, bucket: str, cost: int) -> bool:
        tier = self.faults.tier
        if tier is None:
            return True
        rr, rc, wr, wc = vpub.TIERS[tier]
        rate, cap = (rr, rc) if bucket == "read" else (wr, wc)
        key = (who, bucket, tier)
        with self.log_lock:
            b = self.buckets.get(key)
            if b is None:
                b = self.buckets[key] = Bucket(cap)
            now = time.monotonic()
            b.tokens = min(cap, b.tokens + (now - b.stamp) * rate)
            b.stamp = now
            if b.tokens < cost:
                return False
            b.tokens -= cost
            return True

    # -- the wrapper ----------------------------------------------------------------------------
    def endpoint(
        self,
        view,
        auth: str = "none",
        bucket: str = "read",
        cost=10,
        order_create: bool = False,
        body: bool = False,
    ):
        """Wrap a view. auth: none | optional | required; cost: int or f(body) for batches."""

        async def handler(request: Request):
            raw_path = request.scope.get("raw_path") or request.url.path.encode()
            path = raw_path.decode("latin-1").split("?", 1)[0]
            entry = {
                "method": request.method,
                "path": path,
                "query": request.url.query,
                "status": 0,
                "key_id": request.headers.get("kalshi-access-key"),
            }
            with self.log_lock:
                self.log.append(entry)
            f = self.faults
            # the body is read before the latency: a request that reached the exchange is executed even when its
            # client is gone by the time the exchange gets to it (as on a real server)
            raw = await request.body() if body else b""
            if f.latency_ms:
                await asyncio.sleep(f.latency_ms / 1000)
            if order_create and f.hold_order_creates_ms:
                # a create in flight: the whole request is here and will execute whatever its client does;
                # lookups meanwhile do not see it
                entry["held"] = True
                await asyncio.sleep(f.hold_order_creates_ms / 1000)
            try:
                payload = None
                if body:
                    if raw:
                        try:
                            payload = orjson.loads(raw)
                        except orjson.JSONDecodeError:
                            raise ApiError(
                                400, "invalid_parameters", "request body is not valid JSON"
                            ) from None
                units = cost(payload) if callable(cost) else cost
                who = entry["key_id"] or (request.client.host if request.client else "?")
                if not self.charge(who, bucket, units):
                    raise ApiError(429, "too_many_requests", "too many requests")
                if f.error_rate and self.fault_rng.random() < f.error_rate:
                    status = self.fault_rng.choice((500, 502, 503))
                    raise ApiError(status, "internal_server_error", "internal server error (injected)")
                account = None
                if auth == "required" or entry["key_id"] or request.headers.get("kalshi-access-signature"):
                    account = self.authenticate(request, path)
                req = Req(Query(request.query_params.multi_items()), request.path_params, payload, account)
                with self.ex.lock:
                    result = view(self, req)
                status, content = result if isinstance(result, tuple) else (200, result)
            except ApiError as e:
                status, content = e.status, e.body()
            except ValueError as e:
                status, content = 400, ApiError(400, "invalid_parameters", str(e)).body()
            entry["status"] = status
            if order_create and status == 201 and f.drop_order_response > 0:
                f.drop_order_response -= 1
                entry["status"] = -1
                return _Reset(b"")
            if status == 204:
                return Response(status_code=204)
            if 200 <= status < 300:
                if f.truncate_rate and self.fault_rng.random() < f.truncate_rate and len(content) > 2:
                    entry["status"] = -2
                    return Response(
                        content[: max(1, len(content) // 2)], status, media_type="application/json"
                    )
                if f.reset_rate and self.fault_rng.random() < f.reset_rate:
                    entry["status"] = -1
                    return _Reset(content)
            return Response(content, status, media_type="application/json")

        return handler

    def authenticate(self, request: Request, path: str):
        return self.authenticate_headers(request.headers, request.method, path)

    def authenticate_headers(self, h, method: str, path: str):
        """The account whose key signed ``method + path`` in headers ``h`` (REST and the WebSocket upgrade)."""
        key_id, ts, sig = (
            h.get("kalshi-access-key"),
            h.get("kalshi-access-timestamp"),
            h.get("kalshi-access-signature"),
        )
        if not key_id or not ts or not sig:
            raise ApiError(
                401,
                "unauthorized",
                "authentication headers are missing",
                "send KALSHI-ACCESS-KEY, KALSHI-ACCESS-TIMESTAMP and KALSHI-ACCESS-SIGNATURE",
            )
        acct = self.ex.accounts.get(key_id)
        if acct is None:
            raise ApiError(401, "unauthorized", "unknown API key", "register the key with the local exchange")
        reason = verify_signature(acct.public_key, ts, method, path, sig)
        if reason:
            raise ApiError(401, "unauthorized", "invalid signature", reason)
        return acct


class Req:
    __slots__ = ("q", "params", "body", "account")

    def __init__(self, q, params, body, account) -> None:
        self.q = q
        self.params = params
        self.body = body
        self.account = account


class InjectedReset(ConnectionResetError):
    """The connection reset the fault injector asked for (kept out of the server's error log)."""


class _QuietInjected(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], InjectedReset):
            return False
        # uvicorn reports a WebSocket upgrade refused with an HTTP response (our 401) as a handshake error
        return record.getMessage() != "ASGI callable returned without completing handshake."


logging.getLogger("uvicorn.error").addFilter(_QuietInjected())


class _Reset:
    """An ASGI response that sends headers and part of the body, then drops the connection."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    async def __call__(self, scope, receive, send) -> None:
        length = max(len(self.content), 1)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(length + 64).encode()),
                ],
            }
        )
        if self.content:
            await send(
                {
                    "type": "http.response.body",
                    "body": self.content[: len(self.content) // 2],
                    "more_body": True,
                }
            )
        raise InjectedReset("injected connection reset")


class SimDate:
    """ASGI middleware: ``Date`` from the simulated clock on every HTTP response (any other Date removed)."""

    def __init__(self, app, api: Api) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ex = self.api.ex

        async def send_with_date(message) -> None:
            if message["type"] == "http.response.start":
                date = email.utils.formatdate(ex.now_us // 1_000_000, usegmt=True).encode()
                headers = [(k, v) for k, v in message.get("headers") or () if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date)]}
            await send(message)

        await self.app(scope, receive, send_with_date)


def build_app(api: Api) -> Starlette:
    e = api.endpoint
    W = "write"
    p = PREFIX
    routes = [
        Route(f"{p}/exchange/status", e(vpub.exchange_status)),
        Route(f"{p}/exchange/schedule", e(vpub.exchange_schedule)),
        Route(f"{p}/exchange/user_data_timestamp", e(vpub.user_data_timestamp)),  # no auth in the spec
        Route(f"{p}/account/limits", e(vpub.account_limits, auth="optional")),
        Route(f"{p}/account/endpoint_costs", e(vpub.endpoint_costs)),
        Route(f"{p}/series", e(vpub.series_list)),
        Route(f"{p}/series/fee_changes", e(vpub.series_fee_changes)),
        Route(f"{p}/series/{{series_ticker}}", e(vpub.series_get)),
        Route(f"{p}/series/{{series_ticker}}/markets/{{ticker}}/candlesticks", e(vh.candlesticks)),
        Route(f"{p}/series/{{series_ticker}}/events/{{ticker}}/candlesticks", e(vh.event_candlesticks)),
        Route(f"{p}/events", e(vpub.events_list)),
        Route(f"{p}/events/fee_changes", e(vpub.event_fee_changes)),
        Route(f"{p}/events/multivariate", e(vmve.events_multivariate)),
        Route(f"{p}/multivariate_event_collections", e(vmve.collections_list)),
        Route(f"{p}/multivariate_event_collections/{{collection_ticker}}", e(vmve.collection_get)),
        Route(f"{p}/events/{{event_ticker}}", e(vpub.event_get)),
        Route(f"{p}/markets", e(vpub.markets_list)),
        Route(f"{p}/markets/trades", e(vpub.trades_list)),
        Route(f"{p}/markets/orderbooks", e(vpub.orderbooks_batch)),
        Route(f"{p}/markets/candlesticks", e(vh.candlesticks_batch)),
        Route(f"{p}/markets/{{ticker}}", e(vpub.market_get)),
        Route(f"{p}/markets/{{ticker}}/orderbook", e(vpub.orderbook_get)),
        Route(f"{p}/historical/cutoff", e(vpub.historical_cutoff)),
        Route(f"{p}/historical/markets", e(vpub.historical_markets_list)),
        Route(f"{p}/historical/markets/{{ticker}}", e(vpub.historical_market_get)),
        Route(f"{p}/historical/markets/{{ticker}}/candlesticks", e(vh.historical_candlesticks)),
        Route(f"{p}/historical/trades", e(vpub.historical_trades_list)),
        Route(f"{p}/historical/fills", e(vp.historical_fills, auth="required")),
        Route(f"{p}/historical/orders", e(vp.historical_orders, auth="required")),
        Route(f"{p}/historical/positions", e(vp.historical_positions, auth="required")),
        Route(f"{p}/portfolio/balance", e(vp.balance, auth="required")),
        Route(f"{p}/portfolio/positions", e(vp.positions, auth="required")),
        Route(f"{p}/portfolio/fills", e(vp.fills, auth="required")),
        Route(f"{p}/portfolio/settlements", e(vp.settlements, auth="required")),
        # deposits and withdrawals (kalshi_sim.cash)
        # subaccounts (kalshi_sim.subaccounts)
        Route(
            f"{p}/portfolio/subaccounts",
            e(subs.create, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
        Route(f"{p}/portfolio/subaccounts/balances", e(subs.balances, auth="required")),
        Route(
            f"{p}/portfolio/subaccounts/transfer",
            e(subs.transfer, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
        Route(f"{p}/portfolio/subaccounts/transfers", e(subs.transfers, auth="required")),
        Route(f"{p}/portfolio/subaccounts/netting", e(subs.netting_get, auth="required"), methods=["GET"]),
        Route(
            f"{p}/portfolio/subaccounts/netting",
            e(subs.netting_put, auth="required", bucket=W, body=True),
            methods=["PUT"],
        ),
        Route(f"{p}/portfolio/deposits", e(cash.deposits, auth="required")),
        Route(f"{p}/portfolio/withdrawals", e(cash.withdrawals, auth="required")),
        Route(f"{p}/portfolio/orders", e(vp.orders, auth="required"), methods=["GET"]),
        Route(
            f"{p}/portfolio/orders",
            e(vpub.legacy_order_write, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
        Route(
            f"{p}/portfolio/orders/batched",
            e(vpub.legacy_order_write, auth="required", bucket=W, body=True),
            methods=["POST", "DELETE"],
        ),
        Route(
            f"{p}/portfolio/orders/queue_positions", e(vp.queue_positions, auth="required"), methods=["GET"]
        ),
        Route(
            f"{p}/portfolio/orders/{{order_id}}/queue_position",
            e(vp.queue_position, auth="required"),
            methods=["GET"],
        ),
        Route(
            f"{p}/portfolio/orders/{{order_id}}", e(vp.order_get, auth="required", cost=2), methods=["GET"]
        ),
        Route(
            f"{p}/portfolio/orders/{{order_id}}",
            e(vpub.legacy_order_write, auth="required", bucket=W),
            methods=["DELETE"],
        ),
        Route(
            f"{p}/portfolio/orders/{{order_id}}/amend",
            e(vpub.legacy_order_write, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
        Route(
            f"{p}/portfolio/orders/{{order_id}}/decrease",
            e(vpub.legacy_order_write, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
        Route(
            f"{p}/portfolio/order_groups",
            e(og.list_groups, auth="required"),
            methods=["GET"],
        ),
        Route(
            f"{p}/portfolio/order_groups/create",
            e(og.create, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
        Route(f"{p}/portfolio/order_groups/{{order_group_id}}", e(og.get, auth="required"), methods=["GET"]),
        Route(
            f"{p}/portfolio/order_groups/{{order_group_id}}",
            e(og.delete, auth="required", bucket=W),
            methods=["DELETE"],
        ),
        Route(
            f"{p}/portfolio/order_groups/{{order_group_id}}/reset",
            e(og.reset, auth="required", bucket=W, body=True),
            methods=["PUT"],
        ),
        Route(
            f"{p}/portfolio/order_groups/{{order_group_id}}/trigger",
            e(og.trigger_view, auth="required", bucket=W, body=True),
            methods=["PUT"],
        ),
        Route(
            f"{p}/portfolio/order_groups/{{order_group_id}}/limit",
            e(og.update_limit, auth="required", bucket=W, body=True),
            methods=["PUT"],
        ),
        Route(
            f"{p}/portfolio/events/orders",
            e(vo.create, auth="required", bucket=W, body=True, order_create=True),
            methods=["POST"],
        ),
        Route(
            f"{p}/portfolio/events/orders",
            e(vo.cancel_all, auth="required", bucket=W, cost=2),
            methods=["DELETE"],
        ),
        Route(
            f"{p}/portfolio/events/orders/batched",
            e(
                vo.batch_create,
                auth="required",
                bucket=W,
                body=True,
                cost=vo.batch_create_cost,
                order_create=True,
            ),
            methods=["POST"],
        ),
        Route(
            f"{p}/portfolio/events/orders/batched",
            e(vo.batch_cancel, auth="required", bucket=W, body=True, cost=vo.batch_cancel_cost),
            methods=["DELETE"],
        ),
        Route(
            f"{p}/portfolio/events/orders/{{order_id}}",
            e(vo.cancel, auth="required", bucket=W, cost=2),
            methods=["DELETE"],
        ),
        Route(
            f"{p}/portfolio/events/orders/{{order_id}}/amend",
            e(vo.amend, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
        Route(
            f"{p}/portfolio/events/orders/{{order_id}}/decrease",
            e(vo.decrease, auth="required", bucket=W, body=True),
            methods=["POST"],
        ),
    ]
    routes += vc.routes(api)
    app = Starlette(routes=routes)

    async def not_found_handler(request, exc):
        return Response(
            ApiError(404, "not_found", "no such endpoint", request.url.path).body(),
            404,
            media_type="application/json",
        )

    async def method_handler(request, exc):
        return Response(
            ApiError(405, "method_not_allowed", "method not allowed").body(),
            405,
            media_type="application/json",
        )

    app.add_exception_handler(404, not_found_handler)
    app.add_exception_handler(405, method_handler)
    app.add_middleware(SimDate, api=api)
    return Entry(app, api.ws)


class Entry:
    """The outermost ASGI app: the WebSocket path goes straight to the hub (it needs uvicorn's own ``send``),
    everything else to the Starlette routes."""

    def __init__(self, app, hub: Hub) -> None:
        self.app = app
        self.hub = hub

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            await self.hub(scope, receive, send)
        else:
            await self.app(scope, receive, send)
