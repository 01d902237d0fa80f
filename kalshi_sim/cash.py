"""Deposits and withdrawals of the local exchange's accounts (``GET /portfolio/deposits``,
``GET /portfolio/withdrawals``, spec v3.21 ``Deposit`` / ``Withdrawal``).

A cash flow is created ``pending`` or ``applied`` and a pending one is later finalized ``applied``, ``failed``
or ``returned`` (the spec's four statuses). Only ``applied`` moves the balance, at the instant it is applied
(``finalized_ts``): the spec says "'applied' means funds are reflected in balance" / "have been deducted from
balance". The spec does not say whether ``fee_cents`` is inside ``amount_cents``; here it is on top: an applied
deposit credits ``amount_cents − fee_cents``, an applied withdrawal debits ``amount_cents + fee_cents`` (the
same assumption ``sql/marts/fct_balance_reconciliation.sql`` states). A failed or returned flow never moved the
balance. A withdrawal needs the available balance (cash minus resting orders' collateral) when it is applied.

Lists are newest first (``created_ts``), ``limit`` 1–500 (default 100), keyset ``cursor``, like every list.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kalshi_sim import fmt
from kalshi_sim.http import dumps, page

KINDS = ("deposit", "withdrawal")
TYPES = ("ach", "wire", "crypto", "debit", "apm")
STATUSES = ("pending", "applied", "failed", "returned")


@dataclass
class CashFlow:
    id: str
    kind: str  # deposit | withdrawal
    type: str
    amount_cents: int
    fee_cents: int
    created_us: int
    status: str = "pending"
    finalized_us: int | None = None

    def balance_change_micros(self) -> int:
        """What applying the flow does to the cash balance (micro-dollars)."""
        if self.kind == "deposit":
            return (self.amount_cents - self.fee_cents) * 10_000
        return -(self.amount_cents + self.fee_cents) * 10_000

    def json(self) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "amount_cents": self.amount_cents,
            "fee_cents": self.fee_cents,
            "created_ts": self.created_us // 1_000_000,
            "finalized_ts": None if self.finalized_us is None else self.finalized_us // 1_000_000,
        }


def _apply(ex, acct, flow: CashFlow) -> None:
    from kalshi_sim.trading import reserved

    change = flow.balance_change_micros()
    if change < 0 and -change > acct.balance - reserved(ex, acct):
        raise ValueError("insufficient balance for this withdrawal")
    acct.balance += change
    acct.updated_us = ex.now_us
    flow.status, flow.finalized_us = "applied", ex.now_us


def create(
    ex, acct, kind: str, amount_cents: int, *, fee_cents: int = 0, type: str = "ach", status: str = "applied"
) -> CashFlow:
    """Record a deposit or withdrawal at the exchange's current time (call under ``ex.lock``).

    ``status``: ``applied`` (moves the balance now) or ``pending`` (finalize it later with :func:`finalize`).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if type not in TYPES:
        raise ValueError(f"type must be one of {', '.join(TYPES)}")
    if status not in ("pending", "applied"):
        raise ValueError("a new cash flow is pending or applied")
    for name, v in (("amount_cents", amount_cents), ("fee_cents", fee_cents)):
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"{name} must be a non-negative integer")
    if amount_cents == 0 or (kind == "deposit" and fee_cents > amount_cents):
        raise ValueError("amount_cents must be > 0 (and cover a deposit's fee)")
    flows = acct.cash_flows
    digest = hashlib.sha256(f"{ex.seed}|{acct.key_id}|{len(flows)}".encode()).digest()
    flow = CashFlow(
        id=fmt.uuid_from_int(int.from_bytes(digest[:16], "big")),
        kind=kind,
        type=type,
        amount_cents=amount_cents,
        fee_cents=fee_cents,
        created_us=ex.now_us,
    )
    if status == "applied":
        _apply(ex, acct, flow)  # raises before the flow is recorded: nothing changes
    flows.append(flow)
    return flow


def finalize(ex, acct, flow_id: str, status: str) -> CashFlow:
    """Finalize a pending flow: ``applied`` moves the balance, ``failed`` / ``returned`` do not."""
    if status not in ("applied", "failed", "returned"):
        raise ValueError("a pending cash flow is finalized applied, failed or returned")
    flow = next((f for f in acct.cash_flows if f.id == flow_id), None)
    if flow is None:
        raise ValueError(f"unknown cash flow id {flow_id!r}")
    if flow.status != "pending":
        raise ValueError(f"cash flow {flow_id!r} is already {flow.status}")
    if status == "applied":
        _apply(ex, acct, flow)
    else:
        flow.status, flow.finalized_us = status, ex.now_us
    return flow


def _list(api, req, kind: str):
    q = req.q
    limit = q.limit(1, 500, 100)
    rows = [(k, f) for k, f in enumerate(req.account.cash_flows) if f.kind == kind]
    rows.reverse()  # newest first
    chunk, cursor = page(rows, lambda r: r[0], f"{kind}s", q, limit)
    return dumps({f"{kind}s": [f.json() for _, f in chunk], "cursor": cursor})


def deposits(api, req):
    """``{"deposits": [Deposit], "cursor"}``."""
    return _list(api, req, "deposit")


def withdrawals(api, req):
    """``{"withdrawals": [Withdrawal], "cursor"}``."""
    return _list(api, req, "withdrawal")
