"""The order checks live once, in the library: the trading CLI neither repeats them nor reaches past ``Orders``."""

from __future__ import annotations

from pathlib import Path

import kalshi_lake.cli

PAST_THE_FRONT = (
    ".exec.",
    ".exec)",
    ".checker",
    "OrderChecker",
    "build_v2_request",
    "check_request_syntax",
    "max_order_count",
    "max_position",
    "/portfolio/events/orders",
    "orders.validate",
    "orders.executor",
)


def test_the_trading_cli_goes_through_the_orders_front_only():
    files = sorted(Path(kalshi_lake.cli.__file__).parent.glob("trading_*.py"))
    assert len(files) >= 5
    for path in files:
        source = path.read_text()
        found = [s for s in PAST_THE_FRONT if s in source]
        assert not found, f"{path.name} reaches past kalshi_extract.orders.front.Orders: {found}"
