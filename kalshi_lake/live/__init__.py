"""Run a backtest ``Strategy`` live: the same class, callbacks and ``ctx`` methods, on paper or for real.

```python
from kalshi_lake.live import LiveRunner, RiskLimits, RunOptions, Selection
runner = LiveRunner(settings, client, make_strategy("threshold", {"size": "2"}), Selection(series=("KXBTC",)),
                    RiskLimits(max_position=Decimal(10)), RunOptions(mode="paper"), lake=lake,
                    stream_factory=lambda: SyncStream(settings))
runner.start().run(seconds=8 * 3600)    # → the summary dict
```

The runner's states
-------------------
::

    new ──start()──▶ starting ──────────────────▶ syncing ──────────────────────────▶ running ──▶ stopping ──▶ stopped
                     load the selection's open    WebSocket: orderbook_delta + trade   on_start,     cancel this
                     markets (REST); live: settle for the markets, lifecycle; live:    then one      run's resting
                     journaled intents by lookup, fill + user_orders. One REST book    item at a     orders, on_end,
                     read balance, positions and  per market; live: reconcile again    time          summary, flush
                     this run's resting orders;   (the gap before the subscription).
                     the run's fills missed while Handle what arrived.
                     it was down (REST; their
                     on_fill right after on_start)

    running, per item (in arrival order, one thread):
      trade            paper: fills resting orders by the backtester's fill model; marks; strategy.on_trade
      book snapshot    the market's L2 book is whole (WebSocket source); strategy.on_book
      book delta       moves one level; strategy.on_book
      Gap (books)      that market's WebSocket book is suspect until its next snapshot → REST polling for it
      Disconnected     every WebSocket book suspect; REST polling; orders gated by REST book age
      Reconnected      (the client re-subscribed; books re-snapshot) live: reconcile with REST, as at start —
                       fills missed while disconnected are caught up from /portfolio/fills (desk.catch_up_fills)
      fill / user_order  live: the exchange's fills (de-duplicated by trade_id = REST fill_id, its fee) and order
                       states
      lifecycle settled  the position is paid out; strategy.on_settlement
    running, every tick (≤ 1 s):
      stop file exists → stopping (kill switch);  --for elapsed → stopping;  REST book poll for markets whose
      WebSocket book is not whole or quiet for poll_s;  every status_s: status line + lake flush

Every order a handler places goes: the engine's checks (market, grid, closed, cash) → **the risk gate**
(``limits.py``; refused → ``on_reject``) → paper: the fill model, nothing sent / live: the desk (``desk.py``:
client_order_id first, the journal, exactly once). See ``engine.py``.

Safety rules
------------
* Paper mode never constructs an order request: the desk does not exist, the order module is never built.
* Live mode on prod needs ``--live`` and a confirmation (or ``--yes``), like the trading commands.
* The limits are checked before every order, outside the strategy's API; a stale book (older than
  ``max_data_age_s``: the WebSocket book while whole and the connection alive, else the last REST snapshot) or
  the stop file (``kalshi-lake run --stop``) refuse every new order; the stop file also cancels this run's
  resting orders and stops the runner. A normal stop cancels them too.
* A restarted runner (same strategy, parameters and selection = same run key) settles unanswered intents by
  lookup, adopts its resting orders and takes positions from the exchange; an order that may have reached the
  exchange is never sent again.

* Every exchange fill reaches ``on_fill`` once: from the WebSocket, or — missed while disconnected or stopped —
  from ``/portfolio/fills`` at the next reconcile; fill ids already seen (this session, or recorded in
  ``live_fills`` by an earlier session of the run key) are skipped.

Modules: ``limits`` (the gate), ``markets`` (the selection over REST), ``engine`` (the backtester's engine on
live events), ``desk`` (live orders and reconcile), ``record`` (the ``live_*`` lake streams), ``runner``,
``report`` (live vs backtest, SQL over ``live_*`` and ``bt_*``).
"""

from kalshi_lake.live.engine import LiveEngine
from kalshi_lake.live.limits import RiskGate, RiskLimits
from kalshi_lake.live.markets import Selection, load_markets
from kalshi_lake.live.runner import LiveRunner, RunOptions, run_key

__all__ = [
    "LiveEngine",
    "LiveRunner",
    "RiskGate",
    "RiskLimits",
    "RunOptions",
    "Selection",
    "load_markets",
    "run_key",
]
