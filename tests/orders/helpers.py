"""Helpers for the order tests: run the CLI with an account's environment, pick markets, read the request log."""

from __future__ import annotations

import json
import os
from decimal import Decimal

from typer.testing import CliRunner

ORDER_PATH = "/portfolio/events/orders"


def cli_env(acct_env: dict, lake_dir, **extra) -> dict:
    """The account's environment for one CLI run; every other KALSHI_* variable is unset."""
    env = {k: None for k in os.environ if k.startswith("KALSHI_")}
    env.update(acct_env)
    env["KALSHI_LAKE_DIR"] = str(lake_dir)
    env.update({k: v for k, v in extra.items()})
    return env


class Cli:
    """``cli("buy", T, "yes", "2", "45", "--json")`` → click Result; ``cli.json(...)`` parses stdout."""

    def __init__(self, env: dict) -> None:
        self.env = env
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        from kalshi_lake.cli import app

        return self.runner.invoke(app, list(args), env=self.env, input=input, catch_exceptions=False)

    def ok(self, *args: str):
        res = self(*args)
        assert res.exit_code == 0, f"{args}: exit {res.exit_code}\n{res.output}"
        return res

    def json(self, *args: str):
        return json.loads(self.ok(*args, "--json").stdout)


def order_posts(ex) -> list[dict]:
    """Order-entry requests (any write under /portfolio/events/orders) in the exchange's request log."""
    return [r for r in ex.requests() if r["method"] in ("POST", "DELETE") and ORDER_PATH in r["path"]]


def open_markets(client, n: int = 50) -> list[dict]:
    """Open markets with a two-sided book (both a YES bid and a YES ask)."""
    out = []
    for m in client.get_markets(status="open"):
        bid, ask = m.get("yes_bid_dollars"), m.get("yes_ask_dollars")
        if m.get("status") != "active" or not bid or not ask:
            continue
        if Decimal(bid) <= 0 or Decimal(ask) >= 1 or Decimal(ask) <= Decimal(bid):
            continue
        if Decimal(m.get("yes_ask_size_fp") or "0") < 5 or Decimal(m.get("yes_bid_size_fp") or "0") < 5:
            continue
        out.append(m)
        if len(out) >= n:
            break
    return out


def resting_price(m: dict, below: str = "0.05") -> Decimal:
    """A whole-cent YES price well under the best bid (whole cents are on every tick grid)."""
    from decimal import ROUND_DOWN

    p = (Decimal(m["yes_bid_dollars"]) - Decimal(below)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    return max(Decimal("0.01"), p)
