"""What an order write returns: :class:`OrderResult` for a create, :class:`WriteResult` for a change."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from kalshi_extract.errors import OrderValidationError

__all__ = ["OrderResult", "WriteResult", "seg"]


def seg(order_id: str) -> str:
    """An order id as one URL path segment (ids come from users and files; never let one rewrite the path)."""
    if not isinstance(order_id, str) or not order_id.strip():
        raise OrderValidationError(
            f"order id must be a non-empty string, not {order_id!r}. Nothing was sent."
        )
    return quote(order_id.strip(), safe="")


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


@dataclass(frozen=True)
class OrderResult:
    """What happened to one create request."""

    order_id: str | None
    client_order_id: str
    ticker: str
    side: str
    price: Decimal  # YES price sent
    count: Decimal
    fill_count: Decimal | None
    remaining_count: Decimal | None
    average_fill_price: Decimal | None
    average_fee_paid: Decimal | None
    status: str | None  # resting | executed | canceled
    outcome: str  # accepted | resolved (found by lookup) | rejected (a batch item the exchange refused)
    attempts: int
    error: str | None = None
    raw: dict | None = None

    @classmethod
    def from_create(cls, resp: dict, req: dict, attempts: int, outcome: str = "accepted") -> OrderResult:
        count = Decimal(req["count"])
        fill, rem = _dec(resp.get("fill_count")), _dec(resp.get("remaining_count"))
        status = None
        if rem is not None:
            status = "resting" if rem > 0 else ("executed" if fill == count else "canceled")
        return cls(
            resp.get("order_id"), resp.get("client_order_id") or req["client_order_id"], req["ticker"], req["side"],
            Decimal(req["price"]), count, fill, rem, _dec(resp.get("average_fill_price")),
            _dec(resp.get("average_fee_paid")), status, outcome, attempts, raw=resp,
        )  # fmt: skip

    @classmethod
    def from_order(cls, order: dict, req: dict, attempts: int, outcome: str = "resolved") -> OrderResult:
        fill = _dec(order.get("fill_count_fp"))
        cost = _dec(order.get("taker_fill_cost_dollars") or 0) + _dec(
            order.get("maker_fill_cost_dollars") or 0
        )
        fees = _dec(order.get("taker_fees_dollars") or 0) + _dec(order.get("maker_fees_dollars") or 0)
        avg = avg_fee = None
        if fill:
            avg, avg_fee = (
                (cost / fill).quantize(Decimal("0.000001")),
                (fees / fill).quantize(Decimal("0.000001")),
            )
        return cls(
            order.get("order_id"), req["client_order_id"], req["ticker"], req["side"], Decimal(req["price"]),
            Decimal(req["count"]), fill, _dec(order.get("remaining_count_fp")), avg, avg_fee, order.get("status"),
            outcome, attempts, raw=order,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class WriteResult:
    """What happened to an amend, decrease or cancel."""

    action: str
    order_id: str | None
    outcome: str  # accepted | resolved
    attempts: int
    raw: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
