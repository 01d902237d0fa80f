"""Subaccounts (spec v3.21 CreateSubaccount, GetSubaccountBalances, ApplySubaccountTransfer,
GetSubaccountTransfers, Get/UpdateSubaccountNetting).

An account's primary subaccount is 0; ``POST /portfolio/subaccounts`` numbers new ones 1, 2, … up to 63. Each holds
its own cash and positions (:class:`kalshi_sim.accounts.Ledger`); an order placed with ``subaccount`` trades from
it. A transfer moves whole cents between two subaccounts at once.

Decisions (the spec is silent): a transfer needs the source's free cash (balance less its resting orders'
reserve), like a withdrawal; a repeated ``client_transfer_id`` is not applied twice (the spec calls it the
idempotency key) and answers 200 again; transfers list newest first; netting is stored and reported (enabled
until set) but changes no accounting (the spec does not say what it does or its default).
"""

from __future__ import annotations

from kalshi_sim import fmt
from kalshi_sim.accounts import MAX_SUBACCOUNT, Ledger
from kalshi_sim.http import bad, dumps, page


def create(api, req):
    """``201 {"subaccount_number": n}``: the next number, 1–63."""
    ex, acct = api.ex, req.account
    n = len(acct.subaccounts) + 1
    if n > MAX_SUBACCOUNT:
        raise bad("too many subaccounts", f"at most {MAX_SUBACCOUNT} numbered subaccounts per user")
    acct.subaccounts[n] = Ledger(updated_us=ex.now_us, created_us=ex.now_us)
    return 201, dumps({"subaccount_number": n})


def balances(api, req):
    """``{"subaccount_balances": [{subaccount_number, balance (dollars), updated_ts}]}``, the primary first."""
    acct = req.account
    out = [
        {
            "subaccount_number": n,
            "balance": fmt.d4_from_micros(led.balance),
            "updated_ts": max(led.updated_us, led.created_us) // 1_000_000,
        }
        for n, led in acct.ledgers()
    ]
    return dumps({"subaccount_balances": out})


def _number(acct, body: dict, name: str) -> int:
    v = body.get(name)
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_SUBACCOUNT:
        raise bad(f"invalid {name}", f"{name} is 0 (primary) or 1-{MAX_SUBACCOUNT}")
    if v and v not in acct.subaccounts:
        raise bad(f"invalid {name}", f"subaccount {v} does not exist")
    return v


def transfer(api, req):
    """Move ``amount_cents`` from ``from_subaccount`` to ``to_subaccount``; ``200 {}``."""
    from kalshi_sim.trading import reserved

    ex, acct, body = api.ex, req.account, req.body
    tid = body.get("client_transfer_id")
    if not isinstance(tid, str) or not tid:
        raise bad("invalid client_transfer_id", "client_transfer_id (a UUID) is required")
    src, dst = _number(acct, body, "from_subaccount"), _number(acct, body, "to_subaccount")
    amount = body.get("amount_cents")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise bad("invalid amount_cents", "amount_cents is a positive integer")
    if src == dst:
        raise bad("invalid transfer", "from_subaccount and to_subaccount must differ")
    if any(t["client_transfer_id"] == tid for t in acct.transfers):
        return dumps({})  # idempotent: already applied
    a, b = acct.ledger(src), acct.ledger(dst)
    micros = amount * 10_000
    if micros > a.balance - reserved(ex, acct, src):
        raise bad("insufficient balance", f"subaccount {src} has less than {amount} cents free")
    t = ex.tick()
    a.balance -= micros
    b.balance += micros
    a.updated_us = b.updated_us = acct.updated_us = t
    acct.transfers.append(
        {
            "client_transfer_id": tid,
            "transfer_id": ex.new_id(),
            "from_subaccount": src,
            "to_subaccount": dst,
            "amount_cents": amount,
            "created_us": t,
        }
    )
    return dumps({})


def transfers(api, req):
    """``{"transfers": [SubaccountTransfer], "cursor"}``, newest first."""
    q = req.q
    limit = q.limit(1, 1000, 100)
    rows = list(enumerate(req.account.transfers))
    rows.reverse()
    chunk, cursor = page(rows, lambda r: r[0], "transfers", q, limit)
    out = [
        {
            "transfer_id": t["transfer_id"],
            "from_subaccount": t["from_subaccount"],
            "to_subaccount": t["to_subaccount"],
            "amount_cents": t["amount_cents"],
            "created_ts": t["created_us"] // 1_000_000,
        }
        for _, t in chunk
    ]
    return dumps({"transfers": out, "cursor": cursor})


def netting_get(api, req):
    acct = req.account
    configs = [{"subaccount_number": n, "enabled": acct.netting.get(n, True)} for n, _ in acct.ledgers()]
    return dumps({"netting_configs": configs})


def netting_put(api, req):
    acct, body = req.account, req.body
    n = _number(acct, body, "subaccount_number")
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise bad("invalid enabled", "enabled is true or false")
    acct.netting[n] = enabled
    return dumps({})
