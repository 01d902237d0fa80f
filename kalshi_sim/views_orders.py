"""V2 order endpoints (``/portfolio/events/orders…``)."""

from __future__ import annotations

from kalshi_sim import fmt, trading
from kalshi_sim.http import ApiError, bad, dumps

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


def cancel(api, req):
    o = trading.own_order(api.ex, req.account, req.params["order_id"])
    return dumps(trading.cancel(api.ex, req.account, o))


def batch_cancel(api, req):
    ex, acct = api.ex, req.account
    out = []
    for item in _orders_list(req.body):
        oid = item.get("order_id") if isinstance(item, dict) else None
        try:
            if not isinstance(oid, str):
                raise bad("order_id is required")
            o = trading.own_order(ex, acct, oid)
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
    o = trading.own_order(api.ex, req.account, req.params["order_id"])
    return dumps(trading.amend(api.ex, req.account, o, req.body))


def decrease(api, req):
    o = trading.own_order(api.ex, req.account, req.params["order_id"])
    return dumps(trading.decrease(api.ex, req.account, o, req.body))
