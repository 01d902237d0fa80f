"""`kalshi-lake demo`: the whole stack against an embedded local exchange, with no account and no network.

Steps: start `kalshi_sim.LocalExchange` in-process on a free loopback port (fixed seed) and open a demo account;
let the world trade for a few simulated hours, the last two of them recorded from the exchange's WebSocket by the
recorder (`kalshi_extract.ingest.recorder`: order books, trades, tickers and lifecycle of a few series into the
`ws_*` streams); place a handful of orders through `kalshi_extract.orders.front.Orders`
(so the portfolio streams hold real fills, orders and a cancel); advance time until those markets settle; pull
every stream (`kalshi_extract.ingest.run`, no Prefect) into the lake under the configured lake dir (default ./data);
build the models; print rows per stream, the most active markets, current spreads and the demo account's P&L
reconciled against the exchange's own numbers; end with the next commands to try.

Decisions:
- The demo never writes into a lake it did not create: a lake dir holding other data is refused (one-line
  error, nothing written); the demo marks its own lakes with `<lake_root>/_demo.json`.
- The demo account's label (`KALSHI_ACCOUNT`, the `_account` column) is `demo-<first 8 of its key id>`. The
  exchange is deterministic (same seed, same world, same account key), so a second run in the same directory
  replays the same account: its fills and settlements are not duplicated (the lake de-duplicates by key), new
  snapshots (positions, balance, order books) are added, and market data tops up incrementally. A run with
  another seed is another account with its own label; the reconciliation filters on this run's label.
- Settings for the run are the user's (lake dir, concurrency) with the connection and identity replaced by the
  demo account's (`demo_settings`), passed down as an object: the environment is neither read for them nor
  changed, and the private key is never printed.
- Reconciliation compares, per traded market, the warehouse's realized P&L / fees / position (computed in SQL
  from the pulled fills and settlements) with the exchange's `GET /portfolio/positions`, and the balance the
  lake recorded with the exchange's `GET /portfolio/balance`. Any mismatch is shown in red and fails the demo.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kalshi_lake.cli.render import Col, columns, count, usd, when

DEMO_BALANCE_CENTS = 10_000_00  # $10,000
WORLD_SECONDS = 6 * 3600  # let the world trade before we do
RECORD_SERIES = ("KXHIGHNY", "KXBTC")  # recorded over the WebSocket during the last RECORD_SECONDS of them
RECORD_SECONDS = 2 * 3600
RECORD_STEP_SECONDS = 15 * 60  # the world advances in steps; the recorder takes each step's messages
SETTLE_MARGIN_SECONDS = 2 * 3600  # after the last traded market closes
MAX_SETTLE_SECONDS = 3 * 86400
N_MARKETS = 4
DEMO_MARKER = "_demo.json"


@dataclass
class DemoReport:
    """What the demo did and found (also what the end-to-end test checks)."""

    lake_dir: str
    account: str
    rows: dict[str, int] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    reconciliation: list[dict[str, Any]] = field(default_factory=list)
    reconciled: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def demo_settings(user, account, lake_dir: str):
    """The settings of the demo run: the user's (concurrency, schedules, ...) with the connection and identity of
    the demo account, and the user's lake dir (absolute). Nothing is read from or written to the environment."""
    from dataclasses import replace

    return replace(
        user,
        env="local",
        api_url=account.env["KALSHI_API_URL"],
        api_key_id=account.key_id,
        private_key=account.private_key_pem,
        private_key_path=None,
        account=f"demo-{account.key_id[:8]}",
        tier="basic",
        tier_explicit=False,  # the pacer follows the local exchange's own limits
        lake_dir=lake_dir,
    )


class _Steps:
    """Prints one line per step with its wall time."""

    def __init__(self, console, report: DemoReport):
        self.console, self.report = console, report

    @contextmanager
    def step(self, name: str, text: str) -> Iterator[None]:
        started = time.monotonic()
        with self.console.status(text + " ..."):
            yield
        took = time.monotonic() - started
        self.report.seconds[name] = round(took, 2)
        self.console.print(f"[green]✓[/] {text} [dim]({took:.1f}s)[/]")


def run_demo(seed: int = 7, size: str = "demo", console=None, settings=None) -> DemoReport:
    """Run the demo end to end; returns the report (raises KalshiLakeError subclasses on failure).

    ``settings``: the user's (lake dir, concurrency), loaded here when not given; the connection is the demo's."""
    from rich.console import Console

    from kalshi_extract.errors import ConfigError, KalshiLakeError
    from kalshi_extract.settings import Settings
    from kalshi_sim import LocalExchange

    console = console or Console()
    user = settings if settings is not None else Settings.load()
    lake_dir = str(user.lake_dir)
    if "://" not in lake_dir:
        lake_dir = os.path.abspath(lake_dir)
    marker = _check_demo_lake(user, seed, size, console)
    started = time.monotonic()
    console.rule("[bold]kalshi-lake demo")
    report = DemoReport(lake_dir=lake_dir, account="")
    steps = _Steps(console, report)

    with ExitStack() as stack:
        with steps.step("exchange", f"local exchange started (seed {seed}, size {size})"):
            try:
                exchange = stack.enter_context(LocalExchange(seed=seed, size=size))
            except ValueError as exc:  # an unknown size: a user error, not a crash
                raise ConfigError(f"--size {size!r}: {exc}") from None
        account = exchange.create_account(balance_cents=DEMO_BALANCE_CENTS)
        settings = demo_settings(user, account, lake_dir)
        report.account = settings.account
        with steps.step("world", f"the world traded for {WORLD_SECONDS // 3600} simulated hours"):
            exchange.advance(seconds=WORLD_SECONDS - RECORD_SECONDS)
            recorded = record_books(settings, exchange)
        console.print(
            f"  recorded the WebSocket of {', '.join(RECORD_SERIES)} for the last {RECORD_SECONDS // 3600} hours: "
            f"{recorded.markets} markets, {recorded.messages:,} messages, {recorded.rows_flushed:,} rows, "
            f"{recorded.gaps} gaps",
            highlight=False,
        )
        with steps.step("orders", "demo account placed orders through the order module"):
            report.orders = place_demo_orders(settings, N_MARKETS)
        _print_table(
            console,
            "orders placed by the demo account",
            [
                Col("action"),
                Col("ticker"),
                Col("outcome"),
                Col("count", "num"),
                Col("price", "num"),
                Col("status", drop=1),
            ],
            columns(
                [
                    [o["action"], o["ticker"], o["outcome"], o["count"], o["price"], o["status"]]
                    for o in report.orders
                ],
                money=[4],
            ),
        )
        wait = settle_seconds(exchange.now, report.orders)
        with steps.step("settle", f"time advanced {wait / 3600:.1f} simulated hours: markets settled"):
            exchange.advance(seconds=wait)
        _mark_demo_lake(marker, seed, size)
        _pull_and_build(settings, console, steps)
        print_report(settings, report, console)
    total = time.monotonic() - started
    report.seconds["total"] = round(total, 2)
    console.print(f"\n[bold]done in {total:.0f}s.[/]")
    console.print(f"Lake:      {lake_dir}/lake", markup=False, highlight=False, soft_wrap=True)
    console.print(f"Warehouse: {lake_dir}/kalshi.duckdb", markup=False, highlight=False, soft_wrap=True)
    _next_steps(console, lake_dir, report.account)
    if not report.reconciled:
        raise KalshiLakeError(
            "the demo account's P&L did not reconcile with the exchange (see the table above)"
        )
    return report


def record_books(settings, exchange, seconds: int = RECORD_SECONDS, step: int = RECORD_STEP_SECONDS):
    """Record the exchange's WebSocket (books, trades, tickers, lifecycle, the account's channels) while the world
    advances ``seconds`` in steps of ``step``; returns the recorder's counters. After each step the recorder is
    given the time to take what the step sent (until nothing new arrives for a moment)."""
    import threading

    from kalshi_extract.errors import KalshiLakeError
    from kalshi_extract.ingest.recorder import Recorder
    from kalshi_extract.ingest.recorder_plan import plan_record

    recorder = Recorder(settings, plan_record(settings, series=RECORD_SERIES, flush_seconds=0.5))
    recorder.resolve()
    stop, outcome = threading.Event(), {}

    def run() -> None:
        try:
            outcome["status"] = recorder.run_sync(stop=stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the demo's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="demo-recorder", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while recorder.status.flushes < 1 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    for _ in range(max(1, seconds // step)):
        if not thread.is_alive():
            break
        exchange.advance(seconds=step)
        seen = -1
        while seen != recorder.status.messages and thread.is_alive():
            seen = recorder.status.messages
            time.sleep(0.25)
    stop.set()
    thread.join(60)
    if "error" in outcome:
        raise outcome["error"]
    if "status" not in outcome:
        raise KalshiLakeError("the demo's recorder did not stop within a minute")
    return outcome["status"]


def _check_demo_lake(settings, seed: int, size: str, console) -> tuple:
    """Refuse to write simulated data into a lake that holds anything else (a real account's lake); start afresh
    when the lake holds another demo world (another seed or size: its markets, trades and account would mix
    with this one's and the models' checks would fail).

    The demo marks its lakes with `<lake_root>/_demo.json` (an underscore path, invisible to readers)."""
    from kalshi_extract.errors import ConfigError
    from kalshi_extract.ingest.streams import STREAM_NAMES
    from kalshi_extract.lake.store import Lake

    lake = Lake.from_settings(settings)
    marker = f"{lake.root}/{DEMO_MARKER}"
    is_demo = lake.fs.get_file_info(marker).type.name == "File"
    if not is_demo and any(lake.files(stream) for stream in STREAM_NAMES):
        raise ConfigError(
            f"{settings.lake_root} holds a lake the demo did not create; run the demo in another directory "
            "or with KALSHI_LAKE_DIR=./demo-data so simulated data never mixes with real data"
        )
    if is_demo:
        held = _demo_world(lake, marker)
        if held != {"seed": seed, "size": size}:
            console.print(
                f"{settings.lake_root} holds another demo world (seed {held['seed']}, size {held['size']}): "
                "starting afresh",
                markup=False,
                highlight=False,
            )
            lake.fs.delete_dir(lake.root)
            warehouse = str(settings.warehouse_path)
            if "://" not in warehouse and os.path.exists(warehouse):
                os.remove(warehouse)
    return lake, marker


def _demo_world(lake, marker: str) -> dict:
    """The world (seed, size) a demo lake was made from (size "demo" for markers written before it was kept)."""
    import json

    with lake.fs.open_input_stream(marker) as f:
        data = json.loads(f.read() or b"{}")
    return {"seed": data.get("seed"), "size": data.get("size", "demo")}


def _mark_demo_lake(target: tuple, seed: int, size: str) -> None:
    import json

    lake, marker = target
    lake.fs.create_dir(lake.root, recursive=True)
    with lake.fs.open_output_stream(marker) as out:
        out.write(json.dumps({"created_by": "kalshi-lake demo", "seed": seed, "size": size}).encode())


def _pull_and_build(settings, console, steps: _Steps) -> None:
    from kalshi_extract.errors import PullFailed
    from kalshi_extract.ingest.plan import plan_pull
    from kalshi_lake.cli.progress import pull_with_progress
    from kalshi_lake.warehouse import build

    plan = plan_pull(settings)  # every market-data stream + the portfolio (the demo account has a key)
    with steps.step("pull", f"pulled {len(plan.streams)} streams into the lake"):
        results = pull_with_progress(settings, plan, console)
    failed = [r for r in results if not r.ok]
    if failed:
        detail = "; ".join(f"{r.stream}: {r.error}" for r in failed)
        raise PullFailed(f"{len(failed)} of {len(results)} streams failed ({detail})", results)
    with steps.step("build", "built the models (DuckDB) and ran their tests"):
        build(settings, run_tests=True).raise_for_failures()


def _next_steps(console, lake_dir: str, account: str) -> None:
    """The commands to try next, each runnable as printed in this project (comments on their own line, commands
    never folded by the console, so they copy and paste whole)."""
    prefix = "" if os.path.abspath(lake_dir) == os.path.abspath("data") else f"KALSHI_LAKE_DIR={lake_dir} "
    console.print("\n[bold]Next:[/]")
    for comment, command in (
        ("rows, time range, freshness per stream", f"{prefix}uv run kalshi-lake status"),
        (
            "the most traded markets, as CSV",
            f'{prefix}uv run kalshi-lake sql "select ticker, sum(volume_fp) as contracts from fct_market_daily '
            'group by 1 order by 2 desc limit 5" --format csv',
        ),
        (
            "the demo account's P&L per market",
            f"{prefix}uv run kalshi-lake sql \"select * from fct_pnl where account = '{account}'\"",
        ),
        (
            "replay the lake through a strategy",
            f"{prefix}uv run kalshi-lake backtest threshold --series KXHIGHNY",
        ),
        (
            "the notebooks (01_market_overview … 05_backtest; JupyterLab is fetched once)",
            "uv run --with jupyterlab jupyter lab notebooks/",
        ),
        (
            "the local exchange as a server, to trade against (README: Trading locally)",
            "uv run kalshi-lake exchange serve",
        ),
        ("scheduled pulls with Prefect (README: Scheduling)", "uv run kalshi-lake serve"),
    ):
        console.print(f"  # {comment}", markup=False, highlight=False, style="dim")
        console.print(f"  {command}", markup=False, highlight=False, soft_wrap=True)


def dollars(value: Any) -> Decimal | None:
    """Exact Decimal from an API dollar string (never float)."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


# --------------------------------------------------------------------------------------------------- trading
def _pick_markets(client, n: int) -> list[dict[str, Any]]:
    """Open markets with a two-sided book, soonest to close first (so they settle during the demo)."""
    candidates = []
    for m in client.get_markets(status="open"):
        bid, ask = dollars(m.get("yes_bid_dollars")), dollars(m.get("yes_ask_dollars"))
        if bid is None or ask is None or not (Decimal("0.05") <= bid < ask <= Decimal("0.95")):
            continue
        candidates.append(m)
    candidates.sort(key=lambda m: (m.get("close_time") or "", m["ticker"]))
    return candidates[:n]


def place_demo_orders(settings, n_markets: int = N_MARKETS) -> list[dict[str, Any]]:
    """A handful of real orders: takers that fill on both outcomes, a partial exit, and a cancelled resting bid."""
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.orders.front import Orders

    placed: list[dict[str, Any]] = []
    with KalshiClient(settings) as client:
        orders = Orders(client)
        markets = _pick_markets(client, n_markets)
        if not markets:
            from kalshi_extract.errors import KalshiLakeError

            raise KalshiLakeError("the local exchange has no open two-sided market to trade in")

        def record(action: str, m: dict, outcome: str, count: int, price: Decimal, result) -> None:
            placed.append(
                {
                    "action": action,
                    "ticker": m["ticker"],
                    "outcome": outcome,
                    "count": count,
                    "price": f"{price:.4f}",
                    "order_id": getattr(result, "order_id", None),
                    "status": str(getattr(result, "status", "") or ""),
                    "close_time": m.get("close_time"),
                }
            )

        for i, m in enumerate(markets):
            if i % 2 == 0:  # take the YES ask
                price = dollars(m["yes_ask_dollars"])
                record("buy", m, "yes", 5, price, orders.buy(m["ticker"], "yes", 5, price))
            else:  # take the NO ask (= 1 - best YES bid)
                price = Decimal(1) - dollars(m["yes_bid_dollars"])
                record("buy", m, "no", 5, price, orders.buy(m["ticker"], "no", 5, price))
        first = markets[0]
        # Exit part of the first position at the bid: a realized loss of the spread before settlement.
        bid = dollars(client.get_market(first["ticker"]).get("yes_bid_dollars") or first["yes_bid_dollars"])
        if bid is not None and bid > 0:
            record("sell", first, "yes", 2, bid, orders.sell(first["ticker"], "yes", 2, bid))
        # A resting bid well below the market, then cancelled: the orders stream shows both states.
        low = max(
            Decimal("0.01"), (dollars(first["yes_bid_dollars"]) - Decimal("0.05")).quantize(Decimal("0.01"))
        )
        resting = orders.buy(first["ticker"], "yes", 3, low)
        record("buy", first, "yes", 3, low, resting)
        if getattr(resting, "order_id", None):
            orders.cancel(resting.order_id)
            placed.append({**placed[-1], "action": "cancel", "status": "canceled"})
    return placed


def settle_seconds(now, placed: list[dict[str, Any]]) -> int:
    """Seconds to advance so every traded market has closed and settled (bounded)."""
    from datetime import datetime

    closes = [
        datetime.fromisoformat(str(p["close_time"]).replace("Z", "+00:00"))
        for p in placed
        if p.get("close_time")
    ]
    if not closes:
        return SETTLE_MARGIN_SECONDS
    wait = int((max(closes) - now).total_seconds()) + SETTLE_MARGIN_SECONDS
    return max(SETTLE_MARGIN_SECONDS, min(wait, MAX_SETTLE_SECONDS))


# --------------------------------------------------------------------------------------------------- report
def _query(con, sql: str, params: list | None = None) -> tuple[list[str], list[tuple]]:
    cur = con.execute(sql, params or [])
    return [d[0] for d in cur.description], cur.fetchall()


def _print_table(console, title: str, cols: list, rows: list[list[Any]]) -> None:
    """A compact table fitted to the console's width (numbers and tickers never fold; see cli.render)."""
    from kalshi_lake.cli.render import table

    console.print(table(title, cols, rows, width=console.width))


def print_report(settings, report: DemoReport, console) -> None:
    """Rows per stream, most active markets, current spreads, the account's P&L reconciled with the exchange."""
    from kalshi_extract.ingest.status import lake_status
    from kalshi_lake.warehouse import connect

    status = lake_status(settings)
    report.rows = {s["stream"]: s["rows"] for s in status["streams"]}
    _print_table(
        console,
        "rows per stream",
        [Col("stream"), Col("rows", "num"), Col("days (UTC)", drop=1), Col("clock", drop=2)],
        [
            [s["stream"], count(s["rows"]), f"{s['first'] or ''} … {s['last'] or ''}", s["clock"]]
            for s in status["streams"]
        ],
    )
    console.print(
        "  days: partition days; exchange = the exchange's time (here the local exchange's simulated clock), "
        "local = the day loaded, on this machine's clock",
        highlight=False,
    )
    con = connect(str(settings.warehouse_path), read_only=True)
    try:
        cols, rows = _query(
            con,
            """
            select ticker, sum(trade_count) as trades, sum(volume_fp) as contracts, max(last_trade_time) as last_trade
            from fct_market_daily group by ticker order by contracts desc, ticker limit 5""",
        )
        _print_table(
            console,
            "most active markets",
            [Col("ticker"), Col("trades", "num"), Col("contracts", "num"), Col("last trade (UTC)", drop=1)],
            [[t, count(n), count(c), when(last)] for t, n, c, last in rows],
        )
        _print_spreads(
            console,
            con,
            "spreads from the recorded WebSocket books (each market's last two-sided top while recording)",
            """
            select ticker, yes_bid_dollars, yes_ask_dollars, spread_dollars,
                   max(exchange_ts) over (partition by ticker order by observed_at) as at
            from fct_book_top
            qualify book_state = 'two_sided'
                and row_number() over (partition by ticker, book_state order by observed_at desc) = 1""",
        )
        _print_spreads(
            console,
            con,
            "current spreads (latest REST order book snapshot)",
            """
            select ticker, yes_bid_dollars, yes_ask_dollars, spread_dollars, observed_at as at
            from fct_spreads
            where source = 'orderbook' and book_state = 'two_sided'
            qualify row_number() over (partition by ticker order by observed_at desc) = 1""",
        )
        _reconcile(con, settings, report, console)
    finally:
        con.close()


def _print_spreads(console, con, title: str, latest_per_market: str) -> None:
    """The eight tightest of the two-sided quotes ``latest_per_market`` selects (ticker, bid, ask, spread, at); times
    on the exchange's clock, so simulated and recorded quotes line up."""
    _, rows = _query(con, f"select * from ({latest_per_market}) order by spread_dollars, ticker limit 8")
    columns_ = [
        Col("ticker"),
        Col("yes bid", "num"),
        Col("yes ask", "num"),
        Col("spread", "num"),
        Col("exchange time (UTC)", drop=1),
    ]
    cells = columns([[t, bid, ask, spread, when(at)] for t, bid, ask, spread, at in rows], money=[1, 2, 3])
    _print_table(console, title, columns_, cells)


def _reconcile(con, settings, report: DemoReport, console) -> None:
    from kalshi_extract.api.client import KalshiClient

    cols, rows = _query(
        con,
        """
        select ticker, our_realized_pnl_dollars as realized_ours, exchange_realized_pnl_dollars as realized_exchange,
               our_fees_dollars as fees_ours, exchange_fees_paid_dollars as fees_exchange,
               our_payout_dollars as payout_ours, cast(exchange_revenue_cents as decimal(18,2)) / 100 as payout_exchange,
               positions_comparable,
               realized_pnl_diff_dollars, fees_diff_dollars, position_diff_fp, payout_diff_dollars
        from fct_pnl_reconciliation where account = ? order by ticker""",
        [report.account],
    )
    shown, ok = [], bool(rows)
    for r in rows:
        rec = dict(zip(cols, r, strict=True))
        diffs = [rec["payout_diff_dollars"] if rec["payout_exchange"] is not None else 0]
        if rec["positions_comparable"]:
            diffs += [rec["realized_pnl_diff_dollars"], rec["fees_diff_dollars"], rec["position_diff_fp"]]
        match = all((d or 0) == 0 for d in diffs)
        ok &= match
        report.reconciliation.append({k: (str(v) if isinstance(v, Decimal) else v) for k, v in rec.items()})
        shown.append(
            [
                rec["ticker"],
                _ours_vs_exchange(rec["realized_ours"], rec["realized_exchange"]),
                _ours_vs_exchange(rec["fees_ours"], rec["fees_exchange"]),
                _ours_vs_exchange(rec["payout_ours"], rec["payout_exchange"]),
                "✓" if match else "[red]✗[/]",
            ]
        )
    _print_table(
        console,
        f"P&L of {report.account}: warehouse vs exchange",
        [Col("ticker"), Col("realized $", "num"), Col("fees $", "num"), Col("payout $", "num"), Col("match")],
        shown,
    )
    console.print(
        "[dim](one amount where ours and the exchange's agree, else ours ≠ exchange's)[/]",
        highlight=False,
    )
    # Cash identity: balance now = start + realized - fees - cost basis of what is still open.
    _, (totals,) = _query(
        con,
        """
        select coalesce(sum(realized_pnl_dollars), 0), coalesce(sum(fees_dollars), 0),
               coalesce(sum(cost_basis_dollars), 0)
        from fct_pnl where account = ?""",
        [report.account],
    )
    realized, fees, open_cost = totals
    expected = Decimal(DEMO_BALANCE_CENTS) / 100 + realized - fees - open_cost
    with KalshiClient(settings) as client:
        balance = client.get_balance()
    # balance_dollars carries the exchange's $0.0001 precision (fees are sub-cent); `balance` is whole cents.
    if balance.get("balance_dollars") is not None:
        actual = dollars(balance["balance_dollars"])
    else:
        actual = Decimal(int(balance["balance"])) / 100
    balanced = expected == actual
    ok &= balanced
    report.reconciled = ok
    mark = "[green]✓ reconciled[/]" if balanced else "[red]✗ differs[/]"
    start = Decimal(DEMO_BALANCE_CENTS) / 100
    console.print(
        f"balance: start {usd(start)}, realized P&L {usd(realized)}, fees {usd(fees)}, open cost {usd(open_cost)}",
        highlight=False,
    )
    console.print(f"         → {usd(expected)}; the exchange says {usd(actual)}  {mark}", highlight=False)


def _ours_vs_exchange(ours: Any, exchange: Any) -> str:
    """One exact amount when both sides agree (or the exchange has none), else ``ours ≠ exchange's``."""
    from kalshi_lake.cli.render import dollars as show

    if exchange is None or ours == exchange:
        return show(ours)
    return f"{show(ours)} ≠ {show(exchange)}"
