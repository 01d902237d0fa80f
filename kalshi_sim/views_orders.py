"""V2 order endpoints (``/portfolio/events/orders…``).

Subaccounts (spec v3.21): an order trades from the ``subaccount`` it was created with. Cancel, amend and decrease
take ``subaccount`` as a query parameter that "Defaults to 0"; each batch-cancel item has its own ``subaccount``
(default 0). Decision (the spec is silent on a mismatch): the request addresses that subaccount's orders, so an
order of another subaccount is not found there — 404 ``not_found``, as for an unknown order, nothing changed.
"""

from __future__ import annotations

from kalshi_sim import fmt, trading
from kalshi_sim.accounts import MAX_SUBACCOUNT
from kalshi_sim.book import Order
from kalshi_sim.http import ApiError, bad, dumps, not_found

MAX_BATCH = 20


def create(api, req):
    acct = req.account
    f = trading.validate_create(api.ex, acct, req.body)
    return 201, dumps(trading.create(api.ex, acct, f))


def _orders_list(body) -> list:
    if not isinstance(body, dict) or not isinstance(body.get("orders"), list) or not body["orders"]:
        raise bad("orders is required", 'send {"orders": [...]} with at least one order')
    if len(body["orders"]) > MAX_BATCH:
        raise bad("too many orders", f"at most {MAX_BATCH} orders per batch")
    return body["orders"]


def _batch_size(body) -> int:
    """How many orders a batch body carries, for its rate-limit cost (at least 1, even when malformed)."""
    n = len(body["orders"]) if isinstance(body, dict) and isinstance(body.get("orders"), list) else 1
    return max(n, 1)


def batch_create_cost(body) -> int:
    return 10 * _batch_size(body)


def batch_cancel_cost(body) -> int:
    return 2 * _batch_size(body)


def batch_create(api, req):
    ex, acct = api.ex, req.account
    out = []
    for item in _orders_list(req.body):
        coid = item.get("client_order_id") if isinstance(item, dict) else None
        try:
            f = trading.validate_create(ex, acct, item)
            out.append(trading.create(ex, acct, f))
        except ApiError as e:
            out.append(
                {
                    "order_id": "",
                    "client_order_id": coid,
                    "fill_count": None,
                    "remaining_count": None,
                    "ts_ms": None,
                    "error": e.json(),
                }
            )
    return 201, dumps({"orders": out})


def _order_in(ex, acct, order_id: str, subaccount) -> Order:
    """The account's order ``order_id`` if it trades from ``subaccount`` (missing = 0); else 404."""
    sub = trading.subaccount_of(acct, subaccount)
    o = trading.own_order(ex, acct, order_id)
    if (o.subaccount or 0) != sub:
        raise not_found("order")
    return o


def _target(api, req) -> Order:
    sub = req.q.int("subaccount", 0, 0, MAX_SUBACCOUNT)
    return _order_in(api.ex, req.account, req.params["order_id"], sub)


def cancel(api, req):
    o = _target(api, req)
    return dumps(trading.cancel(api.ex, req.account, o))


def batch_cancel(api, req):
    ex, acct = api.ex, req.account
    out = []
    for item in _orders_list(req.body):
        oid = item.get("order_id") if isinstance(item, dict) else None
        try:
            if not isinstance(oid, str):
                raise bad("order_id is required")
            o = _order_in(ex, acct, oid, item.get("subaccount"))
            out.append(trading.cancel(ex, acct, o))
        except ApiError as e:
            out.append(
                {
                    "order_id": oid or "",
                    "client_order_id": None,
                    "reduced_by": fmt.fp(0),
                    "ts_ms": None,
                    "error": e.json(),
                }
            )
    return dumps({"orders": out})


def cancel_all(api, req):
    trading.cancel_all(api.ex, req.account)
    return 204, b""


def amend(api, req):
    o = _target(api, req)
    return dumps(trading.amend(api.ex, req.account, o, req.body))


def decrease(api, req):
    o = _target(api, req)
    return dumps(trading.decrease(api.ex, req.account, o, req.body))
