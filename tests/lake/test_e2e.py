"""End to end against the local exchange: backfill + top-up == one backfill; cheap no-change re-runs;
concurrency-safe locking; SIGKILL at random moments then re-run == a clean run."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest

from kalshi_extract.ingest.pull import STREAM_NAMES, Selection, pull, pull_stream
from kalshi_extract.lake.run_log import read_runs
from tests.lake.helpers import COMPARED, assert_same_lake, client_and_lake, content, trade_some

SNAPSHOTS = ("positions", "balance")


@pytest.mark.slow
def test_backfill_then_topup_equals_single_backfill(fresh_exchange, tmp_path):
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_000)
    ca, lake_a, _ = client_and_lake(acct, tmp_path / "a")
    assert trade_some(ca) == 4
    cutoff_before = ca.get("/historical/cutoff")["trades_created_ts"]
    first = pull(ca, lake_a, list(STREAM_NAMES), Selection())
    assert first.ok, [(s.stream, s.error) for s in first.streams]
    ex.advance(seconds=36 * 3600)  # new trades, fills of the resting bids, settlements, the cutoff moves
    trade_some(ca, n=2)
    assert ca.get("/historical/cutoff")["trades_created_ts"] > cutoff_before
    top = pull(ca, lake_a, list(STREAM_NAMES), Selection())
    assert top.ok, [(s.stream, s.error) for s in top.streams]

    cb, lake_b, _ = client_and_lake(acct, tmp_path / "b")
    single = pull(cb, lake_b, list(STREAM_NAMES), Selection())
    assert single.ok
    sizes = assert_same_lake(lake_a, lake_b)
    assert (
        sizes["trades"] > 3000 and sizes["fills"] >= 6 and sizes["settlements"] >= 4 and sizes["orders"] >= 8
    )
    assert sizes["markets"] > 100 and sizes["candlesticks"] > 1000
    # markets keep their history: more rows than markets in the top-up lake
    assert lake_a.read("markets").num_rows > sizes["markets"]
    # the latest snapshots agree too (same exchange state), apart from their timestamps
    for stream in SNAPSHOTS:
        assert latest_snapshot(lake_a, stream) == latest_snapshot(lake_b, stream), stream


def latest_snapshot(lake, stream: str) -> list:
    rows = lake.read(stream).to_pylist()
    last = max(r["snapshot_ts"] for r in rows)
    drop = ("snapshot_ts", "_loaded_at", "_run_id", "date")
    return sorted(
        tuple(sorted((k, str(v)) for k, v in r.items() if k not in drop))
        for r in rows
        if r["snapshot_ts"] == last
    )


@pytest.mark.slow
def test_no_change_rerun_costs_at_most_two_requests_per_partition(exchange, tmp_path):
    acct = exchange.create_account(balance_cents=1_000_000)
    client, lake, _ = client_and_lake(acct, tmp_path / "lake")
    streams = [s for s in STREAM_NAMES if s != "candlesticks"]
    assert pull(client, lake, streams + ["candlesticks"], Selection()).ok
    again = pull(client, lake, streams + ["candlesticks"], Selection())
    for s in again.streams:
        assert s.ok, s.error
        assert s.requests <= 2 * max(s.partitions, 1), (s.stream, s.requests, s.partitions)
        if s.stream in ("trades", "markets", "series", "events", "fills", "settlements", "orders"):
            assert s.rows == 0, (s.stream, s.rows)
    runs = read_runs(lake)
    assert {r["stream"] for r in runs} == set(STREAM_NAMES) and all(r["outcome"] == "ok" for r in runs)
    assert len(runs) == 2 * len(STREAM_NAMES)


def test_selection_narrows_and_validates(exchange, sim_account, tmp_path):
    client, lake, _ = client_and_lake(sim_account, tmp_path / "lake")
    markets = client.get("/markets", {"series_ticker": "KXHIGHNY", "limit": 5, "mve_filter": "exclude"})[
        "markets"
    ]
    tickers = [m["ticker"] for m in markets[:2]]
    res = pull_stream(client, lake, "trades", Selection(tickers=tickers))
    assert res.ok and res.partitions == 2
    got = set(lake.read("trades", columns=["ticker"]).column("ticker").to_pylist())
    assert got <= set(tickers)
    res = pull_stream(client, lake, "markets", Selection(series=["KXHIGHNY"]))
    assert res.ok and {t.split("-")[0] for t in lake.read("markets").column("ticker").to_pylist()} == {
        "KXHIGHNY"
    }
    with pytest.raises(ValueError, match="unknown stream 'trade'.*'trades'"):
        pull(client, lake, ["trade"], Selection())
    with pytest.raises(ValueError, match="RFC3339"):
        Selection(since="yesterday")
    with pytest.raises(ValueError, match="candle_interval"):
        Selection(candle_interval=5)
    with pytest.raises(ValueError, match="before until"):
        Selection(since="2026-06-02T00:00:00Z", until="2026-06-01T00:00:00Z")


def test_second_pull_of_a_stream_fails_clearly_while_the_first_runs(exchange, sim_account, tmp_path):
    client, lake, _ = client_and_lake(sim_account, tmp_path / "lake")
    with lake.lock("trades", timeout=1):
        res = pull_stream(client, lake, "trades", Selection(), lock_timeout=0.2)
    assert (
        res.outcome == "failed" and "LakeLockedError" in res.error and "is being written by pid" in res.error
    )
    assert lake.read("trades").num_rows == 0


@pytest.mark.slow
def test_sigkill_at_random_moments_then_rerun_equals_clean_run(fresh_exchange, tmp_path):
    # its own exchange: this test trades, and the session exchange is shared with other areas' tests
    acct = fresh_exchange.create_account(balance_cents=1_000_000)
    client, _, _ = client_and_lake(acct, tmp_path / "clean")
    trade_some(client)
    streams = ",".join(COMPARED)

    def child(lake_dir, small=True):
        _, _, env = client_and_lake(acct, lake_dir)
        args = [sys.executable, "-m", "tests.lake.pull_child", json.dumps(env), streams] + (
            ["small"] if small else []
        )
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    t0 = time.monotonic()
    clean = child(tmp_path / "clean")
    out, err = clean.communicate(timeout=300)
    assert clean.returncode == 0, err[-2000:]
    duration = time.monotonic() - t0

    rng = random.Random(20261124)
    kills, attempts, moments = 0, 0, []
    # each re-run resumes where the last one stopped, so it gets shorter: kill early in the run, and keep going
    # until four pulls were really killed mid-way
    while kills < 4 and attempts < 10:
        attempts += 1
        proc = child(tmp_path / "killed")
        moment = rng.uniform(0.3, max(duration * 0.6, 0.6))
        time.sleep(moment)
        if proc.poll() is None:
            proc.kill()
            kills += 1
            moments.append(round(moment, 2))
        proc.communicate(timeout=60)
    assert kills >= 2, f"only {kills} of {attempts} pulls could be killed (clean run {duration:.1f}s)"
    final = child(tmp_path / "killed")
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err[-2000:]

    from kalshi_extract.lake.store import Lake

    clean_lake, killed_lake = Lake(str(tmp_path / "clean" / "lake")), Lake(str(tmp_path / "killed" / "lake"))
    sizes = assert_same_lake(killed_lake, clean_lake)
    assert sizes["trades"] > 3000 and sizes["fills"] >= 4
    assert content(killed_lake, "markets").keys() == content(clean_lake, "markets").keys()


def test_killed_slice_resumes_from_its_checkpoint_cursor(exchange, tmp_path, monkeypatch):
    """A run that dies mid-slice leaves a cursor checkpoint; the next run continues there (fewer requests) and
    the lake still holds every trade once."""
    import kalshi_extract.ingest.rule_base as rules

    acct = exchange.create_account(balance_cents=1_000_000)
    client, lake, _ = client_and_lake(acct, tmp_path / "lake")
    monkeypatch.setattr(rules, "PAGE_LIMIT", 100)
    monkeypatch.setattr(rules, "CHECKPOINT_PAGES", 2)
    real = client.paginate
    served = {"n": 0}

    def dying(path, params=None, data_key="trades", cursor=None):
        for page in real(path, params, data_key, cursor):
            served["n"] += 1
            if served["n"] == 7:
                raise KeyboardInterrupt("simulated crash")
            yield page

    monkeypatch.setattr(client, "paginate", dying)
    with pytest.raises(KeyboardInterrupt):
        pull_stream(client, lake, "trades", Selection(), lock_timeout=5)
    state = lake.read_state("trades")["partitions"]["all"]
    assert state.get("resume") and "watermark" not in state
    landed_before = lake.read("trades").num_rows
    assert landed_before >= 200
    monkeypatch.setattr(client, "paginate", real)
    full_pages = -(-exchange_trades(client) // 100)
    res = pull_stream(client, lake, "trades", Selection())
    assert res.ok and res.pages < full_pages + 1
    ids = lake.read("trades", columns=["trade_id"]).column("trade_id").to_pylist()
    assert len(ids) == len(set(ids)) == exchange_trades(client)
    assert "resume" not in lake.read_state("trades")["partitions"]["all"]


def exchange_trades(client) -> int:
    n = 0
    for path in ("/historical/trades", "/markets/trades"):
        for page in client.paginate(path, {"limit": 1000}, data_key="trades"):
            n += len(page.items)
    return n
