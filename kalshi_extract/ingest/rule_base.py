"""What the incremental rules (time, state, snapshot, candles) share: the thread pool, market resolution, hashing.

The registry is :mod:`kalshi_extract.ingest.rules`.

See :mod:`kalshi_extract.ingest.streams` for what each rule promises. Shared mechanics:

- every page is converted column-wise (:mod:`kalshi_extract.lake.convert`) and streamed to a rolling
  :class:`~kalshi_extract.lake.store.StreamWriter` (memory stays flat);
- *time* streams (:mod:`kalshi_extract.ingest.time_rule`) commit rolled files as they go and, every
  ``CHECKPOINT_PAGES`` pages, their files with the slice's cursor (without moving the watermark); the watermark
  moves with the last files of a partition. A re-run after a crash continues from the saved cursor (or the slice
  start) and drops every row whose key is already in the lake, so the lake holds each row once;
- *state*, *snapshot* and *candles* streams (:mod:`kalshi_extract.ingest.state_rules`) commit their files and state in
  one commit per query set / market (all or nothing).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from datetime import datetime

import orjson

from kalshi_extract.api.endpoints import ENDPOINTS
from kalshi_extract.errors import NotFoundError
from kalshi_extract.lake.convert import decimal_as_json_number

log = logging.getLogger(__name__)

__all__ = ["resolve_markets", "PAGE_LIMIT", "CHECKPOINT_PAGES", "FINAL_STATUSES"]

PAGE_LIMIT = 1000
CHECKPOINT_PAGES = 100  # a long slice commits its files and cursor every this many pages (resume point)
TICKER_CHUNK = 100
#: market statuses after which a market no longer trades
FINAL_STATUSES = frozenset({"finalized", "settled", "determined", "amended", "closed", "disputed"})
_MARKETS = ENDPOINTS["markets"]
_HISTORICAL_MARKETS = ENDPOINTS[_MARKETS.historical]
_SUBACCOUNT_BALANCES = ENDPOINTS["subaccount_balances"]


def subaccounts(ctx) -> list[int]:
    """The account's subaccounts, 0 (the primary) first, read once per run from ``/portfolio/subaccounts/balances``
    (shared through the run's cache by every per-subaccount stream). An exchange without the endpoint (404) has
    only the primary account: [0], with a warning."""

    def load() -> list[int]:
        try:
            data = ctx.client.get(_SUBACCOUNT_BALANCES.path)
        except NotFoundError:
            log.warning("%s not found: pulling subaccount 0 only", _SUBACCOUNT_BALANCES.path)
            return [0]
        rows = (data or {}).get(_SUBACCOUNT_BALANCES.data_key) or [] if isinstance(data, dict) else []
        return sorted(
            {int(r["subaccount_number"]) for r in rows if r.get("subaccount_number") is not None} | {0}
        )

    return list(ctx._run_cache.get("subaccounts", load))


def subaccount_scopes(ctx) -> list[tuple[dict, dict]]:
    """``(query params, row stamp)`` per subaccount for a ``per_subaccount`` stream; ``[({}, {})]`` otherwise."""
    if not ctx.sdef.per_subaccount:
        return [({}, {})]
    return [({"subaccount": n}, {"subaccount_number": n}) for n in subaccounts(ctx)]


def _run_all(ctx, fn: Callable, jobs: list) -> list:
    """Run ``fn(job)`` for every job on the context's thread pool; re-raise the first failure."""
    if len(jobs) <= 1 or ctx.concurrency == 1:
        return [fn(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=min(ctx.concurrency, len(jobs)), thread_name_prefix="pull") as pool:
        futures = [pool.submit(fn, j) for j in jobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        for f in futures:
            if f.done() and not f.cancelled() and f.exception() is not None:
                raise f.exception()
        return [f.result() for f in futures]


def _secs(value: datetime, up: bool = False) -> int:
    ts = value.timestamp()
    return math.ceil(ts) if up else math.floor(ts)


def _content_hash(item: dict) -> str:
    raw = orjson.dumps(item, default=decimal_as_json_number, option=orjson.OPT_SORT_KEYS)
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _chunks(values: list, n: int) -> Iterable[list]:
    for i in range(0, len(values), n):
        yield values[i : i + n]


# --------------------------------------------------------------------------------------------------------------
# market resolution (series / events → tickers), shared by time, snapshot and candle streams
# --------------------------------------------------------------------------------------------------------------
def _scopes(sel) -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = []
    for s in sel.series or ():
        out.append((f"series={s}", {"series_ticker": s}))
    for e in sel.events or ():
        out.append((f"event={e}", {"event_ticker": e}))
    for chunk in _chunks(sorted(sel.tickers or ()), TICKER_CHUNK):
        out.append((f"tickers={','.join(chunk)}", {"tickers": ",".join(chunk)}))
    return out


def resolve_markets(ctx, historical: bool = True, status: str | None = None) -> dict[str, dict]:
    """Markets of the selection's scopes: ticker → {event_ticker, status, close_time} (live, then historical)."""
    out: dict[str, dict] = {}
    lock = threading.Lock()
    scopes = _scopes(ctx.selection) or [("all", {})]
    jobs = []
    for _, params in scopes:
        q = {**params, "limit": PAGE_LIMIT, "mve_filter": "exclude"}
        if status:
            q["status"] = status
        jobs.append((_MARKETS, q))
        if historical and not status:
            jobs.append((_HISTORICAL_MARKETS, {**params, "limit": PAGE_LIMIT, "mve_filter": "exclude"}))

    def fetch(job):
        ep, q = job
        for page in ctx.client.paginate(ep.path, q, data_key=ep.data_key):
            with lock:
                for m in page.items:
                    t = m.get("ticker")
                    if t and t not in out:
                        out[t] = {
                            "event_ticker": m.get("event_ticker"),
                            "status": m.get("status"),
                            "close_time": m.get("close_time"),
                            "open_time": m.get("open_time"),
                            "historical": ep is _HISTORICAL_MARKETS,
                        }

    _run_all(ctx, fetch, jobs)
    for t in ctx.selection.tickers or ():
        out.setdefault(
            t,
            {
                "event_ticker": None,
                "status": None,
                "close_time": None,
                "open_time": None,
                "historical": False,
            },
        )
    return out
