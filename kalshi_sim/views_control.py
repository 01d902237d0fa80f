"""Control API of the simulation, outside ``/trade-api`` (no auth, no rate limits, no faults).

``POST /_sim/advance {"seconds": N}``, ``POST /_sim/accounts {"balance_cents": N[, "public_key_pem": PEM][, "direct_member": false]}``
(without a public key the exchange generates the key pair and returns the private PEM once),
``POST /_sim/faults {...}``, ``GET|DELETE /_sim/requests``, ``GET /_sim/orders?key_id=``, ``GET /_sim/state``,
``POST /_sim/cash {"key_id", "kind": "deposit"|"withdrawal", "amount_cents"[, "fee_cents", "type", "status"]}``
(a new deposit or withdrawal, ``kalshi_sim.cash``) and ``POST /_sim/cash {"key_id", "id", "status"}`` (finalize a
pending one).

Only clients on this machine (loopback addresses) may use it: it hands out funded private keys and moves the
clock, so an exchange bound to another interface still answers ``/_sim/*`` from elsewhere with 403.
"""

from __future__ import annotations

import asyncio
import ipaddress

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kalshi_sim import cash, fmt, render


def _json(obj, status: int = 200) -> Response:
    return Response(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS), status, media_type="application/json")


def _err(message: str, status: int = 400) -> Response:
    return _json({"code": "invalid_parameters", "message": message, "details": ""}, status)


async def _body(request: Request) -> dict:
    raw = await request.body()
    if not raw:
        return {}
    data = orjson.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def state_json(api) -> dict:
    ex = api.ex
    return {
        "now": fmt.ts(ex.now_us),
        "cutoff": fmt.ts(ex.cutoff_us),
        "seed": ex.seed,
        "trades": len(ex.tape),
        "markets": len(ex.visible_markets()),
        "events": len(ex.events),
        "accounts": len(ex.accounts),
        "faults": api.faults.__dict__.copy(),
    }


def _from_this_machine(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _loopback_only(handler):
    async def guarded(request: Request):
        if not _from_this_machine(request):
            return _err("the control API answers only clients on this machine (loopback)", 403)
        return await handler(request)

    return guarded


def routes(api) -> list[Route]:
    async def advance(request: Request):
        try:
            body = await _body(request)
            seconds = body.get("seconds")
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                return _err("seconds must be a number ≥ 0")
            # in a worker thread: the event loop keeps serving WebSocket frames while the world moves
            await asyncio.to_thread(api.ex.advance, seconds)
        except ValueError as e:
            return _err(str(e))
        return _json(state_json(api))

    async def accounts(request: Request):
        try:
            body = await _body(request)
            cents = body.get("balance_cents", 1_000_000)
            if not isinstance(cents, int) or isinstance(cents, bool) or cents < 0:
                return _err("balance_cents must be a non-negative integer")
            acct, pem = api.create_account(cents, body.get("public_key_pem"), body.get("direct_member", True))
        except ValueError as e:
            return _err(str(e))
        out = {"key_id": acct.key_id, "user_id": acct.user_id, "balance_cents": cents}
        if pem:
            out["private_key_pem"] = pem
        return _json(out, 201)

    async def faults(request: Request):
        try:
            api.set_faults(await _body(request))
        except (ValueError, TypeError) as e:
            return _err(str(e))
        return _json(api.faults.__dict__.copy())

    async def requests_log(request: Request):
        if request.method == "DELETE":
            with api.log_lock:
                api.log.clear()
            return Response(status_code=204)
        with api.log_lock:
            return _json({"requests": list(api.log)})

    async def orders(request: Request):
        key_id = request.query_params.get("key_id")
        with api.ex.lock:
            acct = api.ex.accounts.get(key_id or "")
            if acct is None:
                return _err("unknown key_id", 404)
            return _json({"orders": [render.order_json(api.ex, o) for o in acct.orders]})

    async def cash_flow(request: Request):
        try:
            body = await _body(request)
            with api.ex.lock:
                acct = api.ex.accounts.get(body.get("key_id") or "")
                if acct is None:
                    return _err("unknown key_id", 404)
                if "id" in body:
                    flow = cash.finalize(api.ex, acct, body["id"], body.get("status"))
                else:
                    extra = {k: body[k] for k in ("fee_cents", "type", "status") if k in body}
                    flow = cash.create(api.ex, acct, body.get("kind"), body.get("amount_cents"), **extra)
                return _json(dict(flow.json(), kind=flow.kind), 201)
        except ValueError as e:
            return _err(str(e))

    async def state(request: Request):
        with api.ex.lock:
            return _json(state_json(api))

    return [
        Route("/_sim/advance", _loopback_only(advance), methods=["POST"]),
        Route("/_sim/accounts", _loopback_only(accounts), methods=["POST"]),
        Route("/_sim/faults", _loopback_only(faults), methods=["POST"]),
        Route("/_sim/requests", _loopback_only(requests_log), methods=["GET", "DELETE"]),
        Route("/_sim/orders", _loopback_only(orders), methods=["GET"]),
        Route("/_sim/state", _loopback_only(state), methods=["GET"]),
        Route("/_sim/cash", _loopback_only(cash_flow), methods=["POST"]),
    ]
