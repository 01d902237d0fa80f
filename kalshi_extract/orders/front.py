"""The order module: V2 order entry on the shared client, exactly once, journaled in the lake.

```python
from kalshi_extract import KalshiClient
from kalshi_extract.orders.front import Orders
with KalshiClient.from_env() as c:
    orders = Orders(c)                                   # journal → the lake's order_events stream
    res = orders.buy("KXHIGHNY-26NOV24-T55", "yes", 10, "0.42")      # buy YES at $0.42 → V2 bid at 0.42
    orders.sell("KXHIGHNY-26NOV24-T55", "no", 5, "0.30", time_in_force="ioc")  # → V2 bid at 0.70
    orders.amend(res.order_id, price="0.43"); orders.decrease(res.order_id, reduce_by=2); orders.cancel(res.order_id)
    prepared = orders.prepare("buy", "KXHIGHNY-26NOV24-T55", "yes", 10, "0.42")  # validate; show; then
    orders.submit(prepared)                                                     # send exactly that request
    change = orders.prepare_amend(res.order_id, price="0.44"); orders.submit_change(change)  # likewise a change
    gid = orders.groups.create(10); orders.buy(..., order_group_id=gid)  # exchange-side cap (orders.groups)
```
Translation and the price/fee rules: ``kalshi_extract.orders.translate``; validation: ``.validate``; the
journal: ``.journal``; exactly-once execution of every write: ``.executor``. Every check (syntax, grid, market,
``KALSHI_MAX_ORDER_COUNT``, balance, ``KALSHI_MAX_POSITION``, the key) runs in ``prepare*``; callers such as the CLI
show the prepared request and send it with ``submit``/``submit_change``, never past this front.

Decisions where the contract is silent:
- ``Orders(client, lake=None)``: with no lake and no ``journal`` the journal goes to ``Lake.from_settings`` of the
  client's settings — real orders are always journaled in the lake. ``journal=MemoryJournal()`` is for tests.
- Prices passed to ``buy``/``sell`` are dollars of the named outcome's contract (Decimal or decimal string,
  never float); ``place`` takes a raw V2 request (YES price, ``side`` bid/ask).
- ``amend(price=...)`` takes the new YES price (the V2 book price) unless ``outcome="no"`` is given.
- The balance check covers every order, not only buys: cash needed = the part that opens new exposure (YES price
  per contract on a bid, 1 − YES price on an ask; the part closing an existing position is free) + the taker-fee
  upper bound. ``place_batch`` checks each order alone, not the batch's sum.
- A create is looked up among the 1,000 newest orders of its ticker (5 pages of 200, in its subaccount); after a
  409 also among the account's. The order found must have the request's ticker, side, price and count, else
  :class:`~kalshi_extract.errors.ClientOrderIdConflict` (a reused ``client_order_id``; nothing placed).
- Reads (``list_orders``, ``get_order``, ``queue_position``) write nothing to the journal.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kalshi_extract.errors import ClientOrderIdConflict, OrderValidationError
from kalshi_extract.orders.executor import CREATE_PATH, Executor
from kalshi_extract.orders.journal import Journal, LakeJournal, OrderEvent, pending_intents
from kalshi_extract.orders.results import OrderResult, WriteResult, seg
from kalshi_extract.orders.translate import (
    ONE,
    ZERO,
    check_enum,
    check_price_on_grid,
    format_count2,
    format_price4,
    parse_count,
    parse_price,
)
from kalshi_extract.orders.validate import OrderChecker, PreparedOrder, build_v2_request, check_request_syntax

__all__ = ["Orders", "OrderResult", "WriteResult", "PreparedOrder", "PreparedWrite"]


@dataclass
class PreparedWrite:
    """A validated change to existing orders: the exact request, ready to send with ``Orders.submit_change`` (or
    to show in a dry run or a confirmation)."""

    action: str  # amend | decrease | cancel | cancel_all
    method: str
    path: str
    body: dict[str, Any] | None
    params: dict[str, Any] | None
    order: dict[str, Any] | None = None  # the order as it was before the change
    target: Decimal | None = None  # decrease: the remaining count the change leads to
    order_id: str | None = None  # the order changed (None for cancel_all)
    resting: list[dict[str, Any]] | None = None  # cancel_all: the resting orders it would cancel (≤ 1,000)


def _invalid(msg: str) -> OrderValidationError:
    return OrderValidationError(msg + " Nothing was sent.")


class Orders:
    """Place, amend, decrease, cancel and look up orders (V2), each write exactly once and journaled."""

    def __init__(
        self,
        client: Any,
        lake: Any = None,
        *,
        journal: Journal | None = None,
        max_attempts: int = 3,
        sleep=time.sleep,
        lookup_pages: int = 5,
    ) -> None:
        self.client = client
        if journal is None:
            if lake is None:
                from kalshi_extract.lake.store import Lake

                lake = Lake.from_settings(client.settings)
            clock = getattr(client, "exchange_now", None)  # journal on the exchange's clock
            journal = LakeJournal(
                lake, account=client.settings.account, clock=(lambda: clock(ask=True)) if clock else None
            )
        self.journal = journal
        self.checker = OrderChecker(client)
        self.exec = Executor(
            client, journal, max_attempts=max_attempts, sleep=sleep, lookup_pages=lookup_pages
        )

    @property
    def groups(self):
        """The order-group operations (:class:`~kalshi_extract.orders.groups.OrderGroups`) on this client."""
        from kalshi_extract.orders.groups import OrderGroups

        self.checker.require_key()
        return OrderGroups(self.client)

    # --- user-language front ---------------------------------------------------------------------------------
    def prepare(
        self,
        action: str,
        ticker: str,
        outcome: str,
        count: Decimal | str | int,
        price: Decimal | str,
        *,
        account_checks: bool = True,
        **opts: Any,
    ) -> PreparedOrder:
        """Validate an order in user terms and return the exact V2 request with its cost and fee estimate.

        Sends nothing but reads (market, fee schedule, balance, position). ``opts``: ``time_in_force``
        (gtc|ioc|fok), ``expiration_time``, ``post_only``, ``reduce_only``, ``self_trade_prevention_type``,
        ``cancel_order_on_pause``, ``client_order_id``, ``subaccount``, ``order_group_id``, ``exchange_index``.
        ``account_checks=False`` skips the key, balance and position checks (dry runs without a key).
        """
        prepared = build_v2_request(ticker, action, outcome, count, price, **opts)
        return self.checker.check(prepared, account_checks=account_checks)

    def buy(self, ticker: str, outcome: str, count, price, **opts: Any) -> OrderResult:
        """Buy ``count`` contracts of ``outcome`` (yes|no) at ``price`` dollars each (limit)."""
        return self.submit(self.prepare("buy", ticker, outcome, count, price, **opts))

    def sell(self, ticker: str, outcome: str, count, price, **opts: Any) -> OrderResult:
        """Sell ``count`` contracts of ``outcome`` (yes|no) at ``price`` dollars each (limit)."""
        return self.submit(self.prepare("sell", ticker, outcome, count, price, **opts))

    def submit(self, prepared: PreparedOrder) -> OrderResult:
        """Send a prepared (validated) order exactly once."""
        return self.exec.create(prepared.request)

    # --- V2 front --------------------------------------------------------------------------------------------
    def prepare_v2(self, request: dict[str, Any], *, account_checks: bool = True) -> PreparedOrder:
        """Validate a raw V2 create request with every check ``buy``/``sell`` get (market, grid, balance, limits).

        A missing ``client_order_id`` is assigned here (uuid4) before anything is sent. The request is
        described in YES terms (a bid is "buy YES at p", an ask "sell YES at p").
        """
        request = dict(request)
        request.setdefault("client_order_id", str(uuid.uuid4()))
        yes_price, count = check_request_syntax(request)
        action = "buy" if request["side"] == "bid" else "sell"
        prepared = PreparedOrder(request=request, action=action, outcome="yes", price=yes_price, count=count)
        return self.checker.check(prepared, account_checks=account_checks)

    def place(self, request: dict[str, Any]) -> OrderResult:
        """Validate (see ``prepare_v2``) and send a raw V2 create request exactly once."""
        return self.submit(self.prepare_v2(request))

    def place_batch(self, requests: list[dict[str, Any]]) -> list[OrderResult]:
        """Send several V2 create requests in one batched call, exactly once each.

        Each order gets the ``place`` checks; the balance check is per order, not for the batch's sum (the
        exchange has the last word on the total).
        """
        if not requests:
            raise _invalid("place_batch needs at least one order.")
        prepared = [self.prepare_v2(r).request for r in requests]
        coids = [r["client_order_id"] for r in prepared]
        if len(set(coids)) != len(coids):
            raise _invalid("place_batch: client_order_id values must be unique within the batch.")
        return self.exec.create_batch(prepared)

    # --- changes to resting orders ---------------------------------------------------------------------------
    def amend(
        self,
        order_id: str,
        *,
        price: Decimal | str | None = None,
        count: Decimal | str | int | None = None,
        outcome: str = "yes",
    ) -> WriteResult:
        """Change a resting order's price and/or total count (``count`` = filled + desired resting).

        ``price`` is the YES price unless ``outcome="no"`` (then it is the NO price and becomes 1 − price).
        """
        return self.submit_change(self.prepare_amend(order_id, price=price, count=count, outcome=outcome))

    def prepare_amend(
        self,
        order_id: str,
        *,
        price: Decimal | str | None = None,
        count: Decimal | str | int | None = None,
        outcome: str = "yes",
    ) -> PreparedWrite:
        """Validate an amend and return the exact request (reads the order and, for a new price, the market)."""
        outcome = check_enum("outcome", outcome, ("yes", "no"))
        if price is None and count is None:
            raise _invalid("amend needs a new price, a new count, or both.")
        self.checker.require_key()
        order = self.get_order(order_id)
        self._require_resting(order, "amend")
        side = order.get("book_side") or order.get("side")
        if side not in ("bid", "ask"):
            raise _invalid(f"order {order_id} has no V2 book_side ({side!r}); cannot amend it with V2.")
        if price is None:
            yes_price = Decimal(str(order["yes_price_dollars"]))
        else:
            p = parse_price(price)
            yes_price = p if outcome == "yes" else ONE - p
            market = self.checker.market(order["ticker"])
            check_price_on_grid(yes_price, market, shown=p if outcome == "no" else None)
        filled = Decimal(str(order.get("fill_count_fp") or "0"))
        remaining = Decimal(str(order.get("remaining_count_fp") or "0"))
        total = parse_count(count) if count is not None else filled + remaining
        if total <= filled:
            raise _invalid(
                f"amend count is the new total including the {filled} already filled; it must exceed {filled} "
                f"(use cancel to stop the order)."
            )
        body = {
            "ticker": order["ticker"],
            "side": side,
            "price": format_price4(yes_price),
            "count": format_count2(total),
            "updated_client_order_id": str(uuid.uuid4()),
        }
        if order.get("client_order_id"):
            body["client_order_id"] = order["client_order_id"]
        if order.get("exchange_index") is not None:
            body["exchange_index"] = order["exchange_index"]
        path = f"{CREATE_PATH}/{seg(order_id)}/amend"
        params = self._sub_params(order) or None
        return PreparedWrite("amend", "POST", path, body, params, order, order_id=order_id)

    def decrease(
        self,
        order_id: str,
        *,
        reduce_by: Decimal | str | int | None = None,
        reduce_to: Decimal | str | int | None = None,
    ) -> WriteResult:
        """Reduce a resting order: exactly one of ``reduce_by`` (> 0) or ``reduce_to`` (≥ 0)."""
        return self.submit_change(self.prepare_decrease(order_id, reduce_by=reduce_by, reduce_to=reduce_to))

    def prepare_decrease(
        self,
        order_id: str,
        *,
        reduce_by: Decimal | str | int | None = None,
        reduce_to: Decimal | str | int | None = None,
    ) -> PreparedWrite:
        """Validate a decrease and return the exact request."""
        if (reduce_by is None) == (reduce_to is None):
            raise _invalid("decrease needs exactly one of reduce_by or reduce_to.")
        self.checker.require_key()
        order = self.get_order(order_id)
        self._require_resting(order, "decrease")
        remaining = Decimal(str(order.get("remaining_count_fp") or "0"))
        if reduce_by is not None:
            by = parse_count(reduce_by)
            if by > remaining:
                raise _invalid(f"reduce_by {by} is more than the {remaining} contracts resting.")
            body, target = {"reduce_by": format_count2(by)}, remaining - by
        else:
            to = ZERO if str(reduce_to).strip() in ("0", "0.0", "0.00") else parse_count(reduce_to)
            if to >= remaining:
                raise _invalid(f"reduce_to {to} must be below the {remaining} contracts resting.")
            body, target = {"reduce_to": format_count2(to)}, to
        path = f"{CREATE_PATH}/{seg(order_id)}/decrease"
        params = self._sub_params(order) or None
        return PreparedWrite("decrease", "POST", path, body, params, order, target, order_id=order_id)

    def cancel(self, order_id: str) -> WriteResult:
        """Cancel one resting order."""
        return self.submit_change(self.prepare_cancel(order_id))

    def prepare_cancel(self, order_id: str) -> PreparedWrite:
        """Check the order is resting and return the exact cancel request."""
        self.checker.require_key()
        order = self.get_order(order_id)
        self._require_resting(order, "cancel")
        params = {"market_ticker": order["ticker"]} if order.get("ticker") else {}
        params = {**params, **self._sub_params(order)} or None
        path = f"{CREATE_PATH}/{seg(order_id)}"
        return PreparedWrite("cancel", "DELETE", path, None, params, order, order_id=order_id)

    def cancel_batch(self, order_ids: list[str], subaccount: int | None = None) -> list[WriteResult]:
        """Cancel several orders in one batched call; ``subaccount``: the orders' (each item's defaults to 0)."""
        if not order_ids:
            raise _invalid("cancel_batch needs at least one order id.")
        if subaccount is not None and (
            isinstance(subaccount, bool) or not isinstance(subaccount, int) or not 0 <= subaccount <= 63
        ):
            raise _invalid(f"subaccount must be 0 (primary) or 1-63, not {subaccount!r}.")
        self.checker.require_key()
        return self.exec.cancel_batch(list(order_ids), subaccount)

    def cancel_all(self) -> WriteResult:
        """Cancel every resting order of the account (``DELETE /portfolio/events/orders``)."""
        self.checker.require_key()
        return self.exec.cancel_all()

    def prepare_cancel_all(self) -> PreparedWrite:
        """The exact cancel-all request, with the resting orders it would cancel now (the first 1,000)."""
        resting = self.list_orders(status="resting", limit=1000)
        return PreparedWrite("cancel_all", "DELETE", CREATE_PATH, None, None, resting=resting)

    def submit_change(self, pw: PreparedWrite) -> WriteResult:
        """Send a prepared (validated) amend, decrease, cancel or cancel-all exactly once, as prepared: the
        request sent is the one shown (an amend keeps its ``updated_client_order_id``)."""
        self.checker.require_key()
        if pw.action == "amend":
            return self.exec.amend(pw.order_id, pw.body, pw.params)
        if pw.action == "decrease":
            return self.exec.decrease(pw.order_id, pw.order["ticker"], pw.body, pw.target, pw.params)
        if pw.action == "cancel":
            return self.exec.cancel(pw.order_id, pw.order, pw.params)
        if pw.action == "cancel_all":
            return self.exec.cancel_all()
        raise _invalid(
            f"unknown change {pw.action!r}; prepare it with prepare_amend/decrease/cancel/cancel_all."
        )

    # --- reads -----------------------------------------------------------------------------------------------
    def list_orders(self, *, limit: int | None = None, **params: Any) -> list[dict]:
        """Orders, newest first (``ticker``, ``event_ticker``, ``status`` resting|canceled|executed …)."""
        self.checker.require_key()
        out: list[dict] = []
        query = {k: v for k, v in params.items() if v is not None}
        query.setdefault("limit", min(limit, 1000) if limit else 200)
        for page in self.client.paginate("/portfolio/orders", query, data_key="orders"):
            out.extend(page.items)
            if limit is not None and len(out) >= limit:
                return out[:limit]
        return out

    def get_order(self, order_id: str) -> dict:
        """One order by id (404 → OrderValidationError naming the id)."""
        self.checker.require_key()
        return self.exec.get_order(order_id)

    def find_by_client_order_id(self, client_order_id: str, ticker: str | None = None) -> dict | None:
        """The order with this ``client_order_id`` (searching the newest orders of ``ticker``), or None."""
        self.checker.require_key()
        return self.exec.lookup(client_order_id, ticker)

    def resolve_pending(self) -> list[tuple[str, dict | None]]:
        """Settle journaled intents with no recorded outcome (a crash between send and answer) by lookup.

        For each, looks the order up by ``client_order_id`` and journals the answer (``place``/``resolved``
        with the order, or ``place``/``rejected`` "never placed" — also when the id names an order whose terms
        differ from the intent's). Sends nothing. Returns ``[(client_order_id, order or None)]``.
        """
        self.checker.require_key()
        if not hasattr(self.journal, "rows"):
            return []
        out = []
        for intent in pending_intents(self.journal.rows()):
            coid, ticker = intent["client_order_id"], intent.get("ticker")
            request = json.loads(intent["request_json"]) if intent.get("request_json") else {}
            error = "not on the exchange: never placed"
            try:  # the id may name another order (reused with other terms): then this intent was never placed
                found = self.exec.find_created(request) if request else self.exec.lookup(coid, ticker)
            except ClientOrderIdConflict as exc:
                found, error = None, str(exc)
            if found:
                ev = OrderEvent("place", "resolved", coid, found.get("order_id"), ticker, response=found)
            else:
                ev = OrderEvent("place", "rejected", coid, None, ticker, error=error)
            self.journal.write([ev])
            out.append((coid, found))
        return out

    def queue_position(self, order_id: str) -> Decimal:
        """Contracts ahead of a resting order in the queue."""
        self.checker.require_key()
        body = self.client.get(f"/portfolio/orders/{seg(order_id)}/queue_position")
        return Decimal(str(body.get("queue_position_fp", body.get("queue_position", "0"))))

    @staticmethod
    def _sub_params(order: dict) -> dict[str, Any]:
        """``subaccount`` of a change to an order of a numbered subaccount: the V2 cancel/amend/decrease
        endpoints take it as a query parameter that defaults to 0 (the primary)."""
        n = order.get("subaccount_number")
        return {"subaccount": int(n)} if n else {}

    @staticmethod
    def _require_resting(order: dict, what: str) -> None:
        if order.get("status") not in (None, "resting"):
            raise _invalid(
                f"cannot {what} order {order.get('order_id')}: it is {order.get('status')}, not resting."
            )
