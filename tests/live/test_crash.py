"""A real crash: ``kalshi-lake run --live`` in a child process against the local exchange, SIGKILLed while orders
are in flight (latency: the request is on its way; a dropped response: the order executed, its answer lost) and at
a quiet moment, then restarted. The exchange must end with no duplicate order, the runner's positions must be the
exchange's, and every order on the exchange must be in the journal with no intent left unresolved."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from kalshi_extract.lake.store import Lake
from kalshi_extract.orders.journal import pending_intents
from kalshi_sim import LocalExchange

STRATEGY = str(Path(__file__).with_name("strategies.py")) + ":OneEach"
CLI = str(Path(sys.executable).with_name("kalshi-lake"))
GRACE_S = 8  # > the 5 s latency below: an order sent just before a kill lands within it


def _creates(ex, key_id) -> list[dict]:
    return [
        q
        for q in ex.requests()
        if q["method"] == "POST" and q["path"].endswith("/orders") and q["key_id"] == key_id
    ]


def _wait(what, cond, proc, timeout=60.0):
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"the runner exited ({proc.returncode}): {proc.stderr.read()[-3000:]}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.mark.slow
def test_sigkill_mid_send_and_restart_never_duplicates_and_accounts_for_every_order(tmp_path):
    with LocalExchange(seed=7, size="small") as ex:
        acct = ex.create_account(1_000_000)
        env = {**os.environ, **acct.env, "KALSHI_LAKE_DIR": str(tmp_path)}
        env.pop("KALSHI_ACCOUNT", None)
        with ex_client(acct) as client:
            markets = client.get("/markets", {"series_ticker": "KXBTC", "status": "open", "limit": 1000})[
                "markets"
            ]
        tickers = ",".join(sorted(m["ticker"] for m in markets)[:6])
        args = [CLI, "run", STRATEGY, "--live", "--yes", "--tickers", tickers, "--max-data-age", "600"]
        args += ["--inflight-grace", str(GRACE_S)]

        def child(*extra):
            return subprocess.Popen(
                args + list(extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

        def killed(proc):
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            assert proc.returncode == -signal.SIGKILL, proc.stderr.read()[-2000:]

        def n_creates():
            return len(_creates(ex, acct.key_id))

        # 1. killed after its first order executed and the answer was lost (the executor is looking it up)
        ex.set_faults(drop_order_response=1)
        proc = child()
        _wait(
            "a dropped order response",
            lambda: any(q["status"] == -1 for q in _creates(ex, acct.key_id)),
            proc,
        )
        killed(proc)
        ex.set_faults(drop_order_response=0)
        sent = n_creates()

        # 2. restarted (it resolves that order by lookup, then sends the rest); killed while an order is
        #    travelling: from its first send on, each order create waits 5 s at the exchange before it executes
        #    (lookups do not), and the kill comes as the next send arrives — that order lands after the process
        #    is gone
        proc = child()
        _wait("the restart's first send", lambda: n_creates() > sent, proc)
        ex.set_faults(hold_order_creates_ms=5000)
        _wait("the next send", lambda: n_creates() > sent + 1, proc)
        killed(proc)
        ex.set_faults(hold_order_creates_ms=0)
        # (usually the last send is still at the exchange now; when the previous send was itself quick enough to
        # pass before the latency was set, the kill lands between sends instead: the checks below hold either way)

        # 3. restarted; killed at a quiet moment, once every market has its order
        proc = child()
        _wait(
            "an order on each of the six markets",
            lambda: len({o["ticker"] for o in ex.orders(acct.key_id)}) >= 6,
            proc,
        )
        time.sleep(1.0)
        killed(proc)

        # 4. restarted; runs a few seconds and stops normally (cancelling its resting orders)
        ex.advance(60)
        proc = child("--for", "6s")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]

        orders = ex.orders(acct.key_id)
        with ex_client(acct) as client:
            positions = {
                p["ticker"]: Decimal(p["position_fp"])
                for p in client.get("/portfolio/positions", {"limit": 1000})["market_positions"]
                if Decimal(p["position_fp"])
            }

    # no duplicate: per market at most one order that traded or rested, positions of one contract at most
    assert len({o["ticker"] for o in orders}) == 6
    dup = {t: n for t, n in Counter(o["ticker"] for o in orders if _worked(o)).items() if n > 1}
    assert not dup, (dup, orders)
    assert all(abs(v) <= 1 for v in positions.values()), positions

    # every order on the exchange is this run's and in the journal; no intent is left unresolved
    lake = Lake(str(tmp_path / "lake"))
    journal = [r for r in lake.read("order_events").to_pylist()]
    coids = {r["client_order_id"] for r in journal if r["action"] == "place" and r["phase"] == "intent"}
    assert {o["client_order_id"] for o in orders} <= coids
    assert len({o["client_order_id"][:11] for o in orders}) == 1  # kl<run key>-
    assert pending_intents(journal) == []

    # the runner's last word on positions is the exchange's
    sessions = lake.read("live_sessions").to_pylist()
    assert [s["event"] for s in sessions].count("started") == 4
    last = sessions[-1]
    assert last["event"] == "stopped"
    summary = json.loads(last["summary"])
    assert {t: Decimal(v) for t, v in summary["positions"].items()} == positions
    assert summary["open_orders"] == 0
    assert not [o for o in orders if o["status"] == "resting"]  # the normal stop cancelled them
    # the resting orders placed before a kill were adopted by the next session, on the record
    adopted = [r for r in lake.read("live_orders").to_pylist() if r["event"] == "adopted"]
    assert adopted


# an order create waits this long at the exchange (the kill comes while it is held): longer than a restart takes
# to reach its first lookup on a loaded machine, so a restart without the grace would look too early
HOLD_MS = 15_000


@pytest.mark.slow
def test_sigkill_with_a_send_held_at_the_exchange_restart_waits_for_it_and_sends_nothing_twice(tmp_path):
    """Deterministic: the runner's first order reaches the exchange and is held there (``hold_order_creates_ms``);
    the runner is SIGKILLed while it waits for the answer, and restarted at once. A lookup now finds nothing — the
    order lands seconds later. The restart must wait out the in-flight grace before looking it up, then adopt it;
    without the grace it would close the intent as never placed and its strategy would place a second order."""
    strategy = str(Path(__file__).with_name("strategies.py")) + ":RestOnce"
    with LocalExchange(seed=7, size="small") as ex:
        acct = ex.create_account(1_000_000)
        env = {**os.environ, **acct.env, "KALSHI_LAKE_DIR": str(tmp_path)}
        env.pop("KALSHI_ACCOUNT", None)
        with ex_client(acct) as client:
            markets = client.get("/markets", {"series_ticker": "KXBTC", "status": "open", "limit": 1000})[
                "markets"
            ]
        ticker = sorted(m["ticker"] for m in markets)[0]
        args = [CLI, "run", strategy, "--live", "--yes", "--tickers", ticker, "--max-data-age", "600"]
        args += ["--inflight-grace", str(HOLD_MS // 1000 + 5)]  # the held order lands within it

        def child(*extra):
            return subprocess.Popen(
                args + list(extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )

        ex.set_faults(hold_order_creates_ms=HOLD_MS)
        proc = child()
        _wait(  # its body read (a kill before that is a send that never happened)
            "the first send to be held at the exchange",
            lambda: any(q.get("held") for q in _creates(ex, acct.key_id)),
            proc,
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        ex.set_faults(hold_order_creates_ms=0)  # the held create keeps its wait; later ones go straight in
        assert ex.orders(acct.key_id) == []  # still in flight: a lookup now would say "never placed"
        proc = child("--for", "2s")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        orders = ex.orders(acct.key_id)
        creates = _creates(ex, acct.key_id)

    assert len(creates) == 1, creates  # the restart sent nothing: it found the held order and adopted it
    assert len(orders) == 1 and orders[0]["status"] == "canceled", orders  # the normal stop cancelled it
    lake = Lake(str(tmp_path / "lake"))
    journal = lake.read("order_events").to_pylist()
    assert [r["phase"] for r in journal if r["action"] == "place"] == ["intent", "resolved"]
    assert pending_intents(journal) == []
    adopted = [r for r in lake.read("live_orders").to_pylist() if r["event"] == "adopted"]
    assert [r["order_id"] for r in adopted] == [orders[0]["order_id"]]
    assert "waiting" in err, err  # the restart said it waited for the order in flight


def _worked(o: dict) -> bool:
    """An order that bought something or was a resting bid (an IOC that found nothing to buy does not count)."""
    return Decimal(o["fill_count_fp"]) > 0 or Decimal(o["yes_price_dollars"]) == Decimal("0.02")


def ex_client(acct):
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.settings import Settings

    return KalshiClient(Settings.load(acct.env))
