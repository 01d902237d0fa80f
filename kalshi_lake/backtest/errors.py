"""Backtest errors: one branch under the project's ``KalshiLakeError`` (also ``ValueError``: bad input)."""

from __future__ import annotations

from kalshi_extract.errors import KalshiLakeError


class BacktestError(KalshiLakeError, ValueError):
    """A backtest cannot run as asked; the message says what to change."""

    retriable = False


class BacktestDataError(BacktestError):
    """The lake cannot supply what the backtest asked for."""


class StrategyLoadError(BacktestError):
    """The STRATEGY argument names nothing loadable."""


class StrategyParamError(BacktestError):
    """A strategy parameter is unknown or has the wrong type."""
