"""Order groups: an exchange-side cap on the contracts a set of orders may match over a rolling 15-second window.

When a group's orders reach the limit, the exchange cancels every order of the group and refuses new ones until
the group is reset; ``trigger`` does that on request. Place an order in a group with ``order_group_id=`` on
``Orders.buy``/``sell``/``prepare``.

```python
groups = Orders(client).groups            # or OrderGroups(client)
gid = groups.create(10)                   # at most 10 contracts matched per 15 s
groups.list(); groups.get(gid)            # {"id", "contracts_limit_fp", "is_auto_cancel_enabled"}; + "orders"
groups.update_limit(gid, 20); groups.trigger(gid); groups.reset(gid); groups.delete(gid)
```
Subaccounts (spec v3.21): a group belongs to one subaccount (``create(limit, subaccount=n)``, default the primary,
0) and caps only that subaccount's orders (an order joins a group of its own subaccount). ``list``/``get`` without
``subaccount`` see every subaccount's groups; ``reset``/``trigger``/``delete`` default to subaccount 0 on the
exchange, so a numbered subaccount's group needs its number there; ``update_limit`` has no subaccount parameter.

Writes are sent once (never retried: ``KalshiClient.put``/``post``/``delete``); a limit that is not a whole number
of contracts ≥ 1 is refused before anything is sent. Group operations are not order writes: they are not journaled.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from kalshi_extract.api.endpoints import ENDPOINTS, fill_path
from kalshi_extract.errors import OrderValidationError

__all__ = ["OrderGroups", "contracts_limit"]


def _subaccount(value: Any) -> int:
    """A subaccount number, 0 (primary) to 63; else OrderValidationError."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 63:
        raise OrderValidationError(
            f"subaccount must be 0 (primary) or 1-63, not {value!r}. Nothing was sent."
        )
    return value


def _params(subaccount: Any) -> dict | None:
    return None if subaccount is None else {"subaccount": _subaccount(subaccount)}


def contracts_limit(value: Any) -> int:
    """A group limit → whole contracts (int, str or Decimal; never float); else OrderValidationError."""
    if isinstance(value, bool) or isinstance(value, float):
        raise OrderValidationError(
            f"contracts limit must be a whole number, not {value!r}. Nothing was sent."
        )
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise OrderValidationError(
            f"contracts limit must be a whole number of contracts, not {value!r}. Nothing was sent."
        ) from None
    if not d.is_finite() or d != d.to_integral_value() or d < 1:
        raise OrderValidationError(
            f"contracts limit must be a whole number of contracts, at least 1, not {value}. Nothing was sent."
        )
    return int(d)


class OrderGroups:
    """The seven order-group operations of the Trade API."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @staticmethod
    def _path(name: str, group_id: str | None = None) -> str:
        path = ENDPOINTS[name].path
        if group_id is None:
            return path
        try:
            return fill_path(path, order_group_id=group_id)
        except ValueError:
            raise OrderValidationError(
                f"order group id must be a non-empty string, not {group_id!r}. Nothing was sent."
            ) from None

    def create(self, limit: Any, subaccount: int | None = None) -> str:
        """Create a group capped at ``limit`` contracts per rolling 15 s, in ``subaccount`` (None: the exchange's
        default, 0); returns its id."""
        n = contracts_limit(limit)
        body: dict[str, Any] = {"contracts_limit": n}
        if subaccount is not None:
            body["subaccount"] = _subaccount(subaccount)
        out = self.client.post(self._path("create_order_group"), body)
        return out["order_group_id"]

    def list(self, subaccount: int | None = None) -> list[dict]:
        """The account's groups (every subaccount's, or ``subaccount``'s): ``id``, ``contracts_limit_fp``,
        ``is_auto_cancel_enabled``."""
        body = self.client.get(self._path("order_groups"), _params(subaccount))
        return (body or {}).get("order_groups") or []

    def get(self, group_id: str, subaccount: int | None = None) -> dict:
        """One group: ``contracts_limit_fp``, ``is_auto_cancel_enabled`` and its ``orders`` (ids)."""
        return self.client.get(self._path("order_group", group_id), _params(subaccount))

    def update_limit(self, group_id: str, limit: Any) -> None:
        """Change the cap; a cap already reached triggers the group (its orders are canceled)."""
        n = contracts_limit(limit)
        self.client.put(self._path("update_order_group_limit", group_id), {"contracts_limit": n})

    def reset(self, group_id: str, subaccount: int | None = None) -> None:
        """Set the matched-contracts counter to zero: orders may be placed in the group again. ``subaccount``:
        the group's (the exchange defaults to 0)."""
        self.client.put(self._path("reset_order_group", group_id), {}, params=_params(subaccount))

    def trigger(self, group_id: str, subaccount: int | None = None) -> None:
        """Cancel every order of the group and refuse new ones until it is reset."""
        self.client.put(self._path("trigger_order_group", group_id), {}, params=_params(subaccount))

    def delete(self, group_id: str, subaccount: int | None = None) -> None:
        """Cancel the group's orders and remove the group."""
        self.client.delete(self._path("delete_order_group", group_id), params=_params(subaccount))
