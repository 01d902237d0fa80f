"""`kalshi-lake record` end to end in a child process: a recorder SIGKILLed mid-run and re-run with `--for` leaves
no duplicate rows, books that still equal the engine's, and a coverage log that shows the hole; bad input
changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.lake.schemas import WS_STREAMS
from kalshi_extract.lake.store import Lake
from kalshi_sim import LocalExchange
from tests.record.helpers import account_settings, rebuild_books, rest_book, two_sided_markets

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from kalshi_lake.cli import main; main()"]


@pytest.fixture(scope="module")
def exchange():
    with LocalExchange(seed=11, size="small") as ex:
        yield ex


def _env(acct, lake_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    return {**env, **acct.env, "KALSHI_LAKE_DIR": str(lake_dir), "KALSHI_ACCOUNT": "rec-cli"}


def _alive(lake: Lake) -> list[dict]:
    if not lake.files("ws_coverage"):
        return []
    return [r for r in lake.read("ws_coverage").to_pylist() if r["event"] == "alive"]


def _wait(predicate, what: str, proc=None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"the recorder exited ({proc.returncode}) before {what}: {proc.stderr.read()}"
            )
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_sigkill_then_rerun_leaves_no_duplicates_and_shows_the_hole(exchange, tmp_path):
    ex = exchange
    acct = ex.create_account()
    settings = account_settings(ex, acct, tmp_path)
    tickers = two_sided_markets(settings, 3)
    lake = Lake.from_settings(settings)
    args = [*CLI, "record", "--tickers", ",".join(tickers), "--flush-every", "0.3", "--quiet"]
    env = _env(acct, tmp_path)
    first = subprocess.Popen(
        args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait(lambda: _alive(lake), "the first flush", first)
        for _ in range(3):
            ex.advance(900)
            time.sleep(0.4)
        n = len(_alive(lake))
        _wait(lambda: len(_alive(lake)) >= n + 2, "two more flushes", first)
        ex.advance(600)  # killed while these arrive and flush
        time.sleep(0.35)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    killed_at_alive = max(r["at"] for r in _alive(lake))

    second = subprocess.Popen(
        [*args[:-1], "--for", "6s"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    runs_before = {r["_run_id"] for r in _alive(lake)}
    _wait(lambda: {r["_run_id"] for r in _alive(lake)} - runs_before, "the second run's first flush", second)
    ex.advance(900)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.startswith("duration reached: ") and "rows flushed" in out

    # nothing twice, in any stream
    book = lake.read("ws_book").to_pylist()
    keys = Counter((r["connection_id"], r["sid"], r["seq"], r["side"], r["price_dollars"]) for r in book)
    assert not [k for k, n in keys.items() if n > 1]
    trades = lake.read("ws_trades").to_pylist() if lake.files("ws_trades") else []
    assert len({t["trade_id"] for t in trades}) == len(trades)
    for stream in WS_STREAMS:
        if lake.files(stream):
            rows = lake.read(stream).drop_columns(["_loaded_at"]).to_pylist()
            assert len({repr(sorted(r.items())) for r in rows}) == len(rows), stream
    # the books still equal the engine's: the second run's snapshots start them over
    books = rebuild_books(lake)
    with KalshiClient(settings) as client:
        for t in tickers:
            assert books[t] == rest_book(client, t), t
    # the coverage log: two starts, one stop (the killed run has none), the hole from its last alive to the restart
    cov = sorted(lake.read("ws_coverage").to_pylist(), key=lambda r: r["at"])
    starts = [r for r in cov if r["event"] == "started"]
    stops = [r for r in cov if r["event"] == "stopped"]
    assert len(starts) == 2 and len(stops) == 1 and stops[0]["reason"] == "duration reached"
    first_run, second_run = (r["_run_id"] for r in starts)
    assert not [r for r in cov if r["_run_id"] == first_run and r["event"] == "stopped"]
    last_alive_of_killed = max(r["at"] for r in cov if r["_run_id"] == first_run and r["event"] == "alive")
    assert last_alive_of_killed == killed_at_alive < starts[1]["at"]
    assert {r["connection_id"] for r in book} >= {f"{first_run}-c1", f"{second_run}-c1"}
    assert not lake._list(lake._join("_commits"))  # no commit left half done


@pytest.mark.parametrize(
    "args, message",
    [
        (["--tickers", "KXNOPE-26JAN01-T1"], "does not exist"),
        (["--series", "KXNOSUCHSERIES"], "does not exist"),
        (["--tickers", "A", "--channels", "orderbook,trade"], "unknown channel"),
        (["--tickers", "A", "--for", "soon"], "is not a duration"),
        ([], "say what to record"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(exchange, tmp_path, args, message):
    acct = exchange.create_account()
    proc = subprocess.run(
        [*CLI, "record", *args],
        cwd=tmp_path,
        env=_env(acct, tmp_path / "lake"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], proc.stderr
    assert not (tmp_path / "lake").exists()
