"""Validation of an order before anything is sent: local syntax first, then the market and the account.

Order of checks (cheapest first, so obviously bad input costs no request at all):

1. enums, price strictly within (0, 1), count > 0 with ≤ 2 decimals, time-in-force/expiration rules,
   ``KALSHI_MAX_ORDER_COUNT`` — no request;
2. an API key is configured — no request (a missing key must not even look the market up);
3. ``GET /markets/{ticker}``: exists (404 → unknown ticker), ``status == "active"`` (the response vocabulary;
   ``open`` is accepted too), price on the market's tick grid;
4. fee basis: ``GET /events/{event}`` (``fee_*_override``) and ``GET /series/{series}`` (``fee_type``,
   ``fee_multiplier``); on failure the estimate falls back to quadratic × 1 and says so;
5. ``GET /portfolio/balance`` and ``GET /portfolio/positions?ticker=``: cash needed for the part of the order that
   opens new exposure plus the taker-fee estimate must not exceed the balance; ``KALSHI_MAX_POSITION`` bounds the
   absolute YES-equivalent position after a full fill.

Every failure is an :class:`OrderValidationError` (or ``ConfigError`` for a missing key) whose message says what
is wrong and what to do; nothing has been sent when it is raised.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from kalshi_extract.errors import ConfigError, KalshiLakeError, NotFoundError, OrderValidationError
from kalshi_extract.orders.executor import CREATE_PATH
from kalshi_extract.orders.translate import (
    ONE,
    SELF_TRADE_PREVENTION,
    ZERO,
    check_enum,
    check_price_on_grid,
    estimate_fee,
    format_count2,
    format_price4,
    from_v2,
    normalize_tif,
    opening_cost,
    parse_count,
    parse_price,
    show_count,
    show_dollars,
    signed_yes_delta,
    to_v2,
)

__all__ = [
    "PreparedOrder",
    "FeeBasis",
    "build_v2_request",
    "check_request_syntax",
    "OrderChecker",
    "OPEN_STATUSES",
]

OPEN_STATUSES = ("active", "open")
_REQUEST_KEYS = {
    "ticker",
    "client_order_id",
    "side",
    "count",
    "price",
    "time_in_force",
    "self_trade_prevention_type",
    "expiration_time",
    "post_only",
    "cancel_order_on_pause",
    "reduce_only",
    "subaccount",
    "order_group_id",
    "exchange_index",
}


def _invalid(msg: str) -> OrderValidationError:
    return OrderValidationError(msg + " Nothing was sent.")


@dataclass(frozen=True)
class FeeBasis:
    fee_type: str = "quadratic"
    fee_multiplier: Decimal = Decimal(1)
    source: str = "default"  # "series", "event override" or "default (…)"


@dataclass
class PreparedOrder:
    """A validated V2 create request plus what the user should see before it is sent."""

    request: dict[str, Any]
    action: str  # buy | sell (user terms)
    outcome: str  # yes | no
    price: Decimal  # the outcome's price the user gave
    count: Decimal
    market: dict[str, Any] = field(default_factory=dict)
    cost: Decimal | None = None  # count × price of the contract bought/sold (gross)
    cash_needed: Decimal | None = None  # opening exposure cost
    fee_estimate: Decimal | None = None  # taker-fee upper bound
    fee_basis: FeeBasis | None = None
    balance: Decimal | None = None
    position: Decimal | None = None
    notes: list[str] = field(default_factory=list)

    method = "POST"  # the request that carries it (shown in dry runs and confirmations)
    path = CREATE_PATH

    @property
    def client_order_id(self) -> str:
        return self.request["client_order_id"]

    def summary(self) -> str:
        """One human line: what will be sent and what it costs."""
        side, yes_price = self.request["side"], Decimal(self.request["price"])
        txt = (
            f"{self.action.upper()} {show_count(self.count)} {self.outcome.upper()} {self.request['ticker']} "
            f"@ {show_dollars(self.price)} (V2: {side} at YES {show_dollars(yes_price)}, "
            f"{self.request['time_in_force']})"
        )
        if self.cost is not None:
            txt += f"; {'cost' if self.action == 'buy' else 'proceeds'} {show_dollars(self.cost)}"
        if self.fee_estimate is not None:
            txt += f" + fee up to {show_dollars(self.fee_estimate)}"
        return txt


def build_v2_request(
    ticker: str,
    action: str,
    outcome: str,
    count: Decimal | str | int,
    price: Decimal | str,
    *,
    time_in_force: str = "gtc",
    expiration_time: int | dt.datetime | None = None,
    post_only: bool = False,
    reduce_only: bool = False,
    self_trade_prevention_type: str = "taker_at_cross",
    cancel_order_on_pause: bool = False,
    client_order_id: str | None = None,
    subaccount: int | None = None,
    order_group_id: str | None = None,
    exchange_index: int | None = None,
) -> PreparedOrder:
    """User terms → a V2 create request (local checks only; ``price`` in dollars of the ``outcome`` contract)."""
    if not ticker or not str(ticker).strip():
        raise _invalid("ticker is empty.")
    action = check_enum("action", action, ("buy", "sell"))
    outcome = check_enum("outcome", outcome, ("yes", "no"))
    user_price = parse_price(price)
    qty = parse_count(count)
    quote = to_v2(action, outcome, user_price)
    request: dict[str, Any] = {
        "ticker": str(ticker).strip(),
        "client_order_id": client_order_id or str(uuid.uuid4()),
        "side": quote.side,
        "count": format_count2(qty),
        "price": format_price4(quote.price),
        "time_in_force": normalize_tif(time_in_force),
        "self_trade_prevention_type": self_trade_prevention_type,
        "post_only": bool(post_only),
        "reduce_only": bool(reduce_only),
        "cancel_order_on_pause": bool(cancel_order_on_pause),
    }
    if expiration_time is not None:
        if isinstance(expiration_time, dt.datetime):
            expiration_time = int(expiration_time.timestamp())
        request["expiration_time"] = expiration_time
    for key, value in (
        ("subaccount", subaccount),
        ("order_group_id", order_group_id),
        ("exchange_index", exchange_index),
    ):
        if value is not None:
            request[key] = value
    check_request_syntax(request)
    return PreparedOrder(request=request, action=action, outcome=outcome, price=user_price, count=qty)


def check_request_syntax(request: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """Local checks of a V2 create request; returns ``(yes_price, count)``. Fills in nothing."""
    unknown = set(request) - _REQUEST_KEYS
    if unknown:
        raise _invalid(
            f"unknown order field(s) {', '.join(sorted(unknown))}; V2 takes {', '.join(sorted(_REQUEST_KEYS))}."
        )
    for key in ("ticker", "side", "count", "price", "time_in_force", "self_trade_prevention_type"):
        if request.get(key) in (None, ""):
            raise _invalid(f"order field {key!r} is required.")
    check_enum("side", request["side"], ("bid", "ask"))
    tif = request["time_in_force"]
    if normalize_tif(tif) != tif:
        raise _invalid(
            f"time_in_force must be spelled out in a V2 request ({normalize_tif(tif)!r}, not {tif!r})."
        )
    check_enum("self_trade_prevention_type", request["self_trade_prevention_type"], SELF_TRADE_PREVENTION)
    yes_price = parse_price(str(request["price"]))
    count = parse_count(str(request["count"]))
    exp = request.get("expiration_time")
    if exp is not None:
        if isinstance(exp, bool) or not isinstance(exp, int) or exp <= 0:
            raise _invalid(f"expiration_time must be a Unix time in seconds (a positive int), not {exp!r}.")
        if tif != "good_till_canceled":
            raise _invalid("expiration_time only goes with time in force gtc (good_till_canceled).")
    if request.get("reduce_only") and tif != "immediate_or_cancel":
        raise _invalid(
            "reduce-only orders must be immediate_or_cancel (ioc); the exchange rejects them otherwise."
        )
    coid = request.get("client_order_id")
    if coid is not None and (not isinstance(coid, str) or not coid.strip()):
        raise _invalid("client_order_id must be a non-empty string.")
    return yes_price, count


class OrderChecker:
    """The checks that need the exchange (reads only). Caches fee bases per event within one session."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._fee_cache: dict[str, FeeBasis] = {}

    def require_key(self) -> None:
        if not self.client.settings.has_key:
            raise ConfigError(
                "placing or managing orders needs an API key: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH "
                "(or KALSHI_PRIVATE_KEY with the PEM text). Nothing was sent."
            )

    def market(self, ticker: str) -> dict[str, Any]:
        path_ticker = quote(ticker, safe="")
        try:
            body = self.client.get(f"/markets/{path_ticker}")
        except NotFoundError:
            try:  # settled before the historical cutoff: say so rather than "unknown"
                old = self.client.get(f"/historical/markets/{path_ticker}").get("market")
            except KalshiLakeError:
                old = None
            if old:
                raise _invalid(
                    f"market {ticker} is settled and archived (status {old.get('status')!r}); "
                    "only active markets accept orders."
                ) from None
            raise _invalid(f"unknown ticker {ticker!r}: no such market (try `kalshi-lake search`).") from None
        market = body.get("market") if isinstance(body, dict) else None
        if not market:
            raise _invalid(f"unknown ticker {ticker!r}: the exchange returned no market.")
        return market

    def check_open(self, market: dict[str, Any]) -> None:
        status = market.get("status")
        if status not in OPEN_STATUSES:
            raise _invalid(
                f"market {market.get('ticker')} is not open for trading (status {status!r}); "
                "only active markets accept orders."
            )

    def fee_basis(self, market: dict[str, Any]) -> FeeBasis:
        event_ticker = market.get("event_ticker")
        if not event_ticker:
            return FeeBasis(source="default (market has no event_ticker)")
        if event_ticker in self._fee_cache:
            return self._fee_cache[event_ticker]
        try:
            event = (
                self.client.get(f"/events/{event_ticker}", params={"with_nested_markets": "false"}).get(
                    "event"
                )
                or {}
            )
            series_ticker = event.get("series_ticker")
            series = (
                (self.client.get(f"/series/{series_ticker}").get("series") or {}) if series_ticker else {}
            )
        except Exception as exc:  # noqa: BLE001 - an estimate must not block an order; we say why
            basis = FeeBasis(source=f"default (fee schedule unavailable: {type(exc).__name__})")
        else:
            fee_type = event.get("fee_type_override") or series.get("fee_type") or "quadratic"
            mult_raw = event.get("fee_multiplier_override")
            source = (
                "event override" if (mult_raw is not None or event.get("fee_type_override")) else "series"
            )
            if mult_raw is None:
                mult_raw = series.get("fee_multiplier")
            mult = Decimal(str(mult_raw)) if mult_raw is not None else Decimal(1)
            basis = FeeBasis(
                fee_type=fee_type, fee_multiplier=mult, source=source if series or event else "default"
            )
        self._fee_cache[event_ticker] = basis
        return basis

    def balance(self) -> Decimal:
        body = self.client.get("/portfolio/balance")
        if body.get("balance_dollars") is not None:
            return Decimal(str(body["balance_dollars"]))
        return Decimal(int(body.get("balance", 0))).scaleb(-2)

    def position(self, ticker: str) -> Decimal:
        body = self.client.get("/portfolio/positions", params={"ticker": ticker, "count_filter": "position"})
        for pos in body.get("market_positions") or []:
            if pos.get("ticker") == ticker and pos.get("position_fp") is not None:
                return Decimal(str(pos["position_fp"]))
        return ZERO

    def check(self, prepared: PreparedOrder, *, account_checks: bool = True) -> PreparedOrder:
        """Run the market and account checks on a prepared order; fills in market, cost, fee, balance."""
        settings = self.client.settings
        req = prepared.request
        yes_price, count = check_request_syntax(req)
        if settings.max_order_count is not None and count > settings.max_order_count:
            raise _invalid(f"count {count} exceeds KALSHI_MAX_ORDER_COUNT={settings.max_order_count}.")
        if account_checks:
            self.require_key()
        market = self.market(req["ticker"])
        self.check_open(market)
        shown = prepared.price if prepared.outcome == "no" else None
        check_price_on_grid(yes_price, market, shown=shown)
        prepared.market = market
        prepared.cost = (count * prepared.price).quantize(Decimal("0.0001"))
        basis = self.fee_basis(market)
        prepared.fee_basis = basis
        prepared.fee_estimate = estimate_fee(
            count, yes_price, fee_type=basis.fee_type, fee_multiplier=basis.fee_multiplier
        )
        if not basis.source.startswith(("series", "event")):
            prepared.notes.append(f"fee estimate uses {basis.source}")
        if not account_checks:
            prepared.notes.append("balance and position not checked (no API key)")
            return prepared
        position = self.position(req["ticker"])
        prepared.position = position
        prepared.cash_needed = opening_cost(req["side"], yes_price, count, position)
        held = position if prepared.outcome == "yes" else -position  # contracts of the named outcome held
        if prepared.action == "sell" and count > max(held, ZERO):
            other = "NO" if prepared.outcome == "yes" else "YES"
            prepared.notes.append(
                f"you hold {show_count(max(held, ZERO))} {prepared.outcome.upper()}, so "
                f"{show_count(count - max(held, ZERO))} of these {show_count(count)} buy {other} at "
                f"{show_dollars(ONE - prepared.price)} instead: no proceeds for those, they need up to "
                f"{show_dollars(prepared.cash_needed)}"
            )
        balance = self.balance()
        prepared.balance = balance
        need = prepared.cash_needed + prepared.fee_estimate
        if need > balance:
            raise _invalid(
                f"insufficient balance: this order needs up to {show_dollars(need)} ({show_dollars(prepared.cash_needed)}"
                f" + fee up to {show_dollars(prepared.fee_estimate)}) and the balance is {show_dollars(balance)}."
            )
        if settings.max_position is not None:
            after = position + signed_yes_delta(req["side"], count)
            if abs(after) > settings.max_position:
                raise _invalid(
                    f"position in {req['ticker']} would reach {after} contracts (YES-equivalent, current {position}), "
                    f"beyond KALSHI_MAX_POSITION={settings.max_position}."
                )
        return prepared


def describe_v2(side: str, yes_price: Decimal) -> str:
    """``bid at 0.56`` → ``"buy YES @ 0.56 (= sell NO @ 0.44)"``."""
    a1, o1, p1 = from_v2(side, yes_price, "yes")
    a2, o2, p2 = from_v2(side, yes_price, "no")
    return f"{a1} {o1.upper()} @ {p1} (= {a2} {o2.upper()} @ {p2})"
