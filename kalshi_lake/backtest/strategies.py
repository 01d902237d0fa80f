"""Built-in strategies and the loader for ``path/to/file.py:ClassName``.

* ``threshold`` — "buy YES under 40¢, sell over 60¢": after a trade below ``buy_below`` it buys ``size`` YES
  (immediate-or-cancel at that trade's price) while the position is under ``max_position``; after a trade
  above ``sell_above`` it sells up to ``size`` of what it holds the same way. Whatever is left settles.
* ``longshot_fade`` — the favourite-longshot bias says cheap contracts are overpriced and expensive ones
  underpriced. The first time a market trades at or below ``longshot_max`` it buys ``size`` NO (fading the
  longshot); at or above ``favourite_min`` it buys ``size`` YES (backing the favourite); then it holds to
  settlement. One entry per market.
"""

from __future__ import annotations

import importlib.util
import sys
from decimal import Decimal
from pathlib import Path

from kalshi_lake.backtest.errors import StrategyLoadError, StrategyParamError
from kalshi_lake.backtest.events import Fill, Trade
from kalshi_lake.backtest.money import PRICE_SCALE, contracts_to_centi, dollars_to_micros, micros_to_dollars
from kalshi_lake.backtest.strategy import Strategy


class ThresholdStrategy(Strategy):
    """Buy YES under ``buy_below``, sell over ``sell_above``."""

    name = "threshold"
    defaults = {
        "buy_below": Decimal("0.40"),
        "sell_above": Decimal("0.60"),
        "size": Decimal("10"),
        "max_position": Decimal("50"),
    }

    def __init__(self, **params) -> None:
        super().__init__(**params)
        p = self.params
        self._buy = dollars_to_micros(p["buy_below"])
        self._sell = dollars_to_micros(p["sell_above"])
        self._size = contracts_to_centi(p["size"])
        self._max = contracts_to_centi(p["max_position"])
        if not 0 < self._buy <= self._sell < PRICE_SCALE:
            raise StrategyParamError("threshold needs 0 < buy_below <= sell_above < 1")
        if self._size <= 0:
            raise StrategyParamError("threshold needs size > 0")

    def on_trade(self, ctx, trade: Trade) -> None:
        price = trade.yes_price
        if price < self._buy:
            room = self._max - ctx.position_centi(trade.ticker)
            if room > 0:
                q = min(room, self._size)
                ctx.buy(trade.ticker, Decimal(q).scaleb(-2), micros_to_dollars(price), time_in_force="ioc")
        elif price > self._sell:
            held = ctx.position_centi(trade.ticker)
            if held > 0:
                q = min(held, self._size)
                ctx.sell(trade.ticker, Decimal(q).scaleb(-2), micros_to_dollars(price), time_in_force="ioc")


class LongshotFadeStrategy(Strategy):
    """Fade longshots (buy NO when YES is cheap), back favourites (buy YES when it is dear); hold to settlement."""

    name = "longshot_fade"
    defaults = {
        "longshot_max": Decimal("0.15"),
        "favourite_min": Decimal("0.85"),
        "size": Decimal("10"),
        "fade_longshots": True,
        "back_favourites": True,
    }

    def __init__(self, **params) -> None:
        super().__init__(**params)
        p = self.params
        self._low = dollars_to_micros(p["longshot_max"])
        self._high = dollars_to_micros(p["favourite_min"])
        self._size = p["size"]
        if contracts_to_centi(self._size) <= 0:
            raise StrategyParamError("longshot_fade needs size > 0")
        if not 0 < self._low < self._high < PRICE_SCALE:
            raise StrategyParamError("longshot_fade needs 0 < longshot_max < favourite_min < 1")

    def on_start(self, ctx) -> None:
        self._entered: set[str] = set()

    def on_trade(self, ctx, trade: Trade) -> None:
        if trade.ticker in self._entered:
            return
        price = trade.yes_price
        if self.params["fade_longshots"] and price <= self._low:
            ctx.buy(
                trade.ticker,
                self._size,
                micros_to_dollars(PRICE_SCALE - price),
                outcome="no",
                time_in_force="ioc",
            )
        elif self.params["back_favourites"] and price >= self._high:
            ctx.buy(trade.ticker, self._size, micros_to_dollars(price), time_in_force="ioc")

    def on_fill(self, ctx, fill: Fill) -> None:
        self._entered.add(fill.ticker)


BUILTINS: dict[str, type[Strategy]] = {
    ThresholdStrategy.name: ThresholdStrategy,
    LongshotFadeStrategy.name: LongshotFadeStrategy,
}


def load_strategy_class(spec: str) -> type[Strategy]:
    """A built-in name (``threshold``, ``longshot_fade``) or ``path/to/file.py:ClassName``."""
    if spec in BUILTINS:
        return BUILTINS[spec]
    if ":" not in spec:
        raise StrategyLoadError(
            f"unknown strategy {spec!r}: use one of {', '.join(sorted(BUILTINS))} or path/to/file.py:ClassName"
        )
    path_text, _, class_name = spec.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise StrategyLoadError(f"strategy file {path} does not exist")
    module_name = f"kalshi_lake_user_strategy_{abs(hash(str(path.resolve())))}"
    mod_spec = importlib.util.spec_from_file_location(module_name, path)
    if mod_spec is None or mod_spec.loader is None:
        raise StrategyLoadError(f"cannot import {path} as Python")
    module = importlib.util.module_from_spec(mod_spec)
    sys.modules[module_name] = module
    mod_spec.loader.exec_module(module)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise StrategyLoadError(f"{path} has no class {class_name!r}")
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise StrategyLoadError(f"{path}:{class_name} is not a subclass of kalshi_lake.backtest.Strategy")
    return cls


def make_strategy(spec: str, params: dict | None = None) -> Strategy:
    """Load and instantiate a strategy with its parameters (strings are converted; see ``parse_params``)."""
    return load_strategy_class(spec)(**(params or {}))
