"""The strategy interface.

A strategy subclasses ``Strategy``, declares its parameters with defaults in ``defaults`` and overrides the
handlers it needs. Every handler receives the run's ``Context`` (``ctx``) and one event; it places orders with
``ctx.buy`` / ``ctx.sell`` / ``ctx.cancel`` or returns an iterable of ``OrderRequest``. Through ``ctx`` it can
read its cash, positions, open orders, the last trade / book of a market and the market's static terms
(``ctx.market(ticker)``: no result, no status — nothing from the future).

```python
class BuyCheap(Strategy):
    name = "buy_cheap"
    defaults = {"below": Decimal("0.20"), "size": Decimal("5")}

    def on_trade(self, ctx, trade):
        if trade.yes_price < self.below_micros and ctx.position(trade.ticker) == 0:
            ctx.buy(trade.ticker, self.params["size"], trade.yes_price_dollars, time_in_force="ioc")
```

Parameters given as strings (``--param size=5``) are converted to the type of the default (Decimal, int,
bool, str); an unknown name is an error that lists the valid ones. Floats are refused for Decimal params.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from kalshi_lake.backtest.errors import StrategyParamError
from kalshi_lake.backtest.events import Book, Candle, Fill, Order, OrderRequest, Settlement, Trade


def _convert(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise StrategyParamError(f"parameter {name}: expected true/false, got {value!r}")
    if isinstance(default, Decimal):
        if isinstance(value, float):
            raise StrategyParamError(f"parameter {name}: give a Decimal or a string, not float {value!r}")
        try:
            return value if isinstance(value, Decimal) else Decimal(str(value).strip())
        except InvalidOperation:
            raise StrategyParamError(f"parameter {name}: {value!r} is not a number") from None
    if isinstance(default, int):
        try:
            return int(str(value).strip())
        except ValueError:
            raise StrategyParamError(f"parameter {name}: {value!r} is not an integer") from None
    if default is None or isinstance(default, str):
        return value if value is None else str(value)
    return value


def parse_params(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Merge given parameters into the defaults, converting each to the default's type."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        valid = ", ".join(sorted(defaults)) or "(none)"
        raise StrategyParamError(f"unknown parameter(s) {', '.join(unknown)}; valid: {valid}")
    params = dict(defaults)
    for name, value in given.items():
        params[name] = _convert(name, value, defaults[name])
    return params


class Strategy:
    """Base class: override the handlers you need. Handlers may return an iterable of ``OrderRequest``."""

    name: ClassVar[str] = "custom"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        self.params = parse_params(self.defaults, params)

    def on_start(self, ctx) -> Iterable[OrderRequest] | None:
        """Called once before the first event."""

    def on_trade(self, ctx, trade: Trade) -> Iterable[OrderRequest] | None:
        """Called for every trade on the tape (after resting orders were matched against it)."""

    def on_book(self, ctx, book: Book) -> Iterable[OrderRequest] | None:
        """Called for every order-book snapshot (only replayed if overridden)."""

    def on_candle(self, ctx, candle: Candle) -> Iterable[OrderRequest] | None:
        """Called for every candlestick at its end time (only replayed if overridden)."""

    def on_fill(self, ctx, fill: Fill) -> Iterable[OrderRequest] | None:
        """Called after each of this strategy's fills."""

    def on_settlement(self, ctx, settlement: Settlement) -> Iterable[OrderRequest] | None:
        """Called after a market settled and the position was paid out."""

    def on_reject(self, ctx, order: Order) -> Iterable[OrderRequest] | None:
        """Called when an order of this strategy was refused: ``order.reason`` says why (a live run's risk
        limits start with ``risk:``). The live runner calls it; the backtest records refusals in its metrics."""

    def on_end(self, ctx) -> None:
        """Called once after the last event."""

    def overrides(self, handler: str) -> bool:
        """True if this strategy's class overrides ``handler`` (the engine skips events nobody wants)."""
        return getattr(type(self), handler) is not getattr(Strategy, handler)
