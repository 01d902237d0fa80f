"""What an order write returns: :class:`OrderResult` for a create, :class:`WriteResult` for a change; and
:func:`order_differences`, which says whether an order found by ``client_order_id`` is the one a request asked for."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from kalshi_extract.errors import OrderValidationError

__all__ = ["OrderResult", "WriteResult", "order_differences", "seg"]


def seg(order_id: str) -> str:
    """An order id as one URL path segment (ids come from users and files; never let one rewrite the path)."""
    if not isinstance(order_id, str) or not order_id.strip():
        raise OrderValidationError(
            f"order id must be a non-empty string, not {order_id!r}. Nothing was sent."
        )
    return quote(order_id.strip(), safe="")


def _dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _book_side(order: dict) -> str | None:
    """An order's V2 side (bid = buy YES, ask = sell YES); from the deprecated ``side``/``action`` if needed."""
    if order.get("book_side") in ("bid", "ask"):
        return order["book_side"]
    side, action = order.get("side"), order.get("action")
    if side in ("yes", "no") and action in ("buy", "sell"):
        return "bid" if (side == "yes") == (action == "buy") else "ask"
    return None


def order_differences(order: dict, request: dict) -> list[str]:
    """How ``order`` (an Order from the API) differs from the V2 create ``request`` that carried its
    ``client_order_id``: ticker, side (the action in YES terms), price and count; empty = the same order.

    The count compared is the order's ``initial_count_fp`` (fills, cancels and decreases do not change it); a
    reduce-only order may have been cut to the position, so fewer is the same order. Without
    ``initial_count_fp`` it is filled + remaining, which may be fewer once the order is no longer resting.
    """
    out = []
    if order.get("ticker") != request.get("ticker"):
        out.append(f"ticker {order.get('ticker')}, not {request.get('ticker')}")
    side = _book_side(order)
    if side != request.get("side"):
        out.append(f"side {side}, not {request.get('side')}")
    price, want_price = _dec(order.get("yes_price_dollars")), _dec(request.get("price"))
    if price != want_price:
        out.append(f"YES price {price}, not {want_price}")
    count, want = _dec(order.get("initial_count_fp")), _dec(request.get("count"))
    fewer_ok = bool(request.get("reduce_only"))
    if count is None:
        count = (_dec(order.get("fill_count_fp")) or 0) + (_dec(order.get("remaining_count_fp")) or 0)
        fewer_ok = fewer_ok or order.get("status") not in (None, "resting")
    if want is None or not (count == want or (fewer_ok and count < want)):
        out.append(f"count {count}, not {want}")
    return out


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
            resp.get("order_id"),
            resp.get("client_order_id") or req["client_order_id"],
            req["ticker"],
            req["side"],
            Decimal(req["price"]),
            count,
            fill,
            rem,
            _dec(resp.get("average_fill_price")),
            _dec(resp.get("average_fee_paid")),
            status,
            outcome,
            attempts,
            raw=resp,
        )

    @classmethod
    def rejected(cls, req: dict, attempts: int, error: str, raw: dict | None = None) -> OrderResult:
        """A create the exchange refused (a batch item), or whose ``client_order_id`` names another order."""
        return cls(
            None,
            req["client_order_id"],
            req["ticker"],
            req["side"],
            Decimal(req["price"]),
            Decimal(req["count"]),
            None,
            None,
            None,
            None,
            None,
            "rejected",
            attempts,
            error=error,
            raw=raw,
        )

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
            order.get("order_id"),
            req["client_order_id"],
            req["ticker"],
            req["side"],
            Decimal(req["price"]),
            Decimal(req["count"]),
            fill,
            _dec(order.get("remaining_count_fp")),
            avg,
            avg_fee,
            order.get("status"),
            outcome,
            attempts,
            raw=order,
        )

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
