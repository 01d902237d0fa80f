"""A split stream (`kalshi_extract.ingest.split`) against the local exchange: the same rows as an unsplit pull,
each once; a failed or killed shard lands nothing of its own, moves no watermark, and the re-run completes the
stream exactly once."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kalshi_extract.errors import ConfigError
from kalshi_extract.ingest import split as split_mod
from kalshi_extract.ingest.plan import parse_split, plan_pull
from kalshi_extract.ingest.pull import Selection
from kalshi_extract.ingest.run import run_pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _settings(base_url: str, lake: Path) -> Settings:
    return Settings.load(
        environ={"KALSHI_ENV": "local", "KALSHI_API_URL": base_url, "KALSHI_LAKE_DIR": str(lake)},
        config_path=None,
    )


def _trade_ids(settings: Settings) -> list[str]:
    lake = Lake.from_settings(settings)
    if not lake.files("trades"):
        return []
    return lake.read("trades", ["trade_id"]).column("trade_id").to_pylist()


def _tmp_files(settings: Settings) -> list[str]:
    folder = Path(settings.lake_root) / "_tmp"
    return sorted(p.name for p in folder.glob("trades--*")) if folder.exists() else []


def _assert_same_rows_each_once(split: Settings, unsplit: Settings) -> None:
    got, want = _trade_ids(split), _trade_ids(unsplit)
    assert len(got) == len(set(got)), "a trade landed twice"
    assert sorted(got) == sorted(want) and len(want) > 0


@pytest.fixture
def lakes(exchange, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return _settings(exchange.base_url, tmp_path / "split"), _settings(
        exchange.base_url, tmp_path / "unsplit"
    )


# ------------------------------------------------------------------------------------------- planning
def test_windows_cover_exactly_the_unsplit_window():
    t = datetime(2026, 1, 1, tzinfo=UTC)
    day = timedelta(days=1)
    windows = split_mod._cut(None, None, 4, t, t + 4 * day)
    assert windows[0][0] is None and windows[-1][1] is None  # open ends stay open: nothing outside is lost
    assert [w[1] for w in windows[:-1]] == [w[0] for w in windows[1:]]  # adjacent, disjoint ([a, b))
    assert [w[1] for w in windows[:-1]] == [t + day, t + 2 * day, t + 3 * day]
    closed = split_mod._cut(t, t + 2 * day, 2, t, t)
    assert closed == [(t, t + day), (t + day, t + 2 * day)]
    assert split_mod._cut(t, t + day, 1, t, t) == [(t, t + day)]


def test_split_option_is_checked_before_anything_runs(exchange, tmp_path):
    settings = _settings(exchange.base_url, tmp_path / "lake")
    assert parse_split("auto") == 0 and parse_split(None) == 1 and parse_split("4") == 4
    for bad in ("-1", "two", "65"):
        with pytest.raises(ConfigError, match="--split"):
            parse_split(bad)
    with pytest.raises(ConfigError, match="no stream of this pull can be split"):
        plan_pull(settings, ["markets"], split=2)
    with pytest.raises(ConfigError, match="no stream of this pull can be split"):
        plan_pull(settings, ["trades"], series=["KXHIGHNY"], split=2)  # narrowed: per-market partitions
    plan = plan_pull(settings, ["markets", "trades"], split="3")
    assert plan.shards("trades", 8) == 3 and plan.shards("markets", 8) == 1
    assert plan_pull(settings, ["trades"], split="auto").shards("trades", 5) == 5
    assert not (tmp_path / "lake").exists()
    assert split_mod.splits("trades", Selection()) and not split_mod.splits("fills", Selection())


# ------------------------------------------------------------------------------------------- landing
def test_a_split_pull_lands_the_rows_of_an_unsplit_pull_each_once(lakes):
    split, unsplit = lakes
    seen: list[tuple] = []
    lock = threading.Lock()

    def progress(*event):
        with lock:
            seen.append(event)

    run = run_pull(split, plan_pull(split, ["markets", "trades"], split=3), progress=progress)
    reference = run_pull(unsplit, plan_pull(unsplit, ["markets", "trades"]))
    assert run.ok and reference.ok
    trades = {r.stream: r for r in run.streams}["trades"]
    assert trades.shards == 3 and trades.rows == len(_trade_ids(split))
    _assert_same_rows_each_once(split, unsplit)
    # each shard's own progress line, and the stream's line with the totals at its end
    for i in (1, 2, 3):
        mine = [e for e in seen if e[0] == f"trades {i}/3"]
        assert mine[0][3] == "started" and mine[-1][3] == "ok"
    assert [e for e in seen if e[0] == "trades"][-1] == ("trades", trades.pages, trades.rows, "ok")
    assert sum(e[2] for e in seen if e[0].startswith("trades ") and e[3] == "ok") == trades.rows
    # the same state as the unsplit pull: the next run starts where it would have
    state = Lake.from_settings(split).read_state("trades")["partitions"]["all"]
    want = Lake.from_settings(unsplit).read_state("trades")["partitions"]["all"]
    assert (state["watermark"], state["cutoff"]) == (want["watermark"], want["cutoff"])
    assert state["shards"] == 3
    # one run-log row for the stream, and nothing left in _tmp/
    from kalshi_extract.lake.run_log import RUNS_STREAM

    runs = Lake.from_settings(split).read(RUNS_STREAM).to_pylist()
    assert [r["rows"] for r in runs if r["stream"] == "trades"] == [trades.rows]
    assert _tmp_files(split) == []
    # a second split pull (incremental, from the watermark) adds nothing twice
    again = run_pull(split, plan_pull(split, ["trades"], split=2))
    assert again.ok and again.streams[0].shards == 2
    _assert_same_rows_each_once(split, unsplit)


def test_a_failed_shard_lands_nothing_of_its_own_and_the_rerun_completes(lakes, monkeypatch):
    split, unsplit = lakes
    run_pull(unsplit, plan_pull(unsplit, ["markets", "trades"]))
    run_pull(split, plan_pull(split, ["markets"]))
    real = split_mod.pull_shard

    def failing_second(settings, shard, *, progress=None, run_cache=None):
        if shard.index != 1:
            return real(settings, shard, progress=progress, run_cache=run_cache)

        def boom(name, pages, rows, status):
            if status is None and pages >= 1:  # mid-pull: after its first page went to a writer
                raise RuntimeError("the worker running this shard died")

        return real(settings, shard, progress=boom, run_cache=run_cache)

    monkeypatch.setattr(split_mod, "pull_shard", failing_second)
    run = run_pull(split, plan_pull(split, ["trades"], split=3))
    result = run.streams[0]
    assert not result.ok and result.shards == 3
    assert "1 of 3 shards failed" in result.error and "trades 2/3" in result.error
    landed = _trade_ids(split)
    assert 0 < len(landed) < len(_trade_ids(unsplit)) and len(landed) == len(set(landed))
    assert result.rows == len(landed)  # what the others landed, reported as such
    assert "all" not in Lake.from_settings(split).read_state("trades").get("partitions", {})  # no watermark
    assert _tmp_files(split) == []

    monkeypatch.setattr(split_mod, "pull_shard", real)
    rerun = run_pull(split, plan_pull(split, ["trades"], split=3))
    assert rerun.ok, rerun.streams[0].error
    assert rerun.streams[0].rows == len(_trade_ids(unsplit)) - len(landed)
    _assert_same_rows_each_once(split, unsplit)


_SHARD_PROCESS = """
import pickle, sys
from kalshi_extract.ingest.split import pull_shard
settings, shard = pickle.load(open(sys.argv[1], "rb"))
out = pull_shard(settings, shard)
print("done", out.ok, len(out.files))
"""


@pytest.mark.slow
def test_a_killed_shard_process_leaves_no_row_and_the_rerun_is_exact(fresh_exchange, tmp_path, monkeypatch):
    """A shard in a process of its own is SIGKILLed mid-pull while the coordinator holds the stream: its temp
    files are never committed (and are deleted by the commit of the others); the re-run lands every row once."""
    monkeypatch.chdir(tmp_path)
    split = _settings(fresh_exchange.base_url, tmp_path / "split")
    unsplit = _settings(fresh_exchange.base_url, tmp_path / "unsplit")
    run_pull(unsplit, plan_pull(unsplit, ["markets", "trades"]))
    run_pull(split, plan_pull(split, ["markets"]))
    # every response held 2 s: the kill 0.2 s after the shard's first trades request lands while that request is
    # still in flight, whatever the machine's load (at 400 ms a fast shard could finish its window first)
    fresh_exchange.set_faults(latency_ms=2000)
    try:
        with split_mod.SplitPull(split, "trades", Selection(), "run-killed", 2) as coordinator:
            first, second = coordinator.shards
            job = tmp_path / "shard.pickle"
            job.write_bytes(pickle.dumps((split, first)))
            fresh_exchange.clear_requests()
            proc = subprocess.Popen(
                [sys.executable, "-c", _SHARD_PROCESS, str(job)], cwd=ROOT, start_new_session=True
            )
            deadline = time.monotonic() + 60
            while not any("trades" in r["path"] for r in fresh_exchange.requests()):
                assert proc.poll() is None and time.monotonic() < deadline, "the shard never asked for trades"
                time.sleep(0.05)
            time.sleep(0.2)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
            assert proc.returncode == -signal.SIGKILL
            fresh_exchange.set_faults(latency_ms=0)
            other = split_mod.pull_shard(split, second)
            result = coordinator.finish([RuntimeError("shard process killed"), other])
    finally:
        fresh_exchange.set_faults(latency_ms=0)
    assert not result.ok and "trades 1/2" in result.error
    landed = _trade_ids(split)
    assert len(landed) == len(set(landed)) == result.rows
    assert _tmp_files(split) == []  # the killed shard's temp files went with the others' commit
    rerun = run_pull(split, plan_pull(split, ["trades"], split=2))
    assert rerun.ok, rerun.streams[0].error
    _assert_same_rows_each_once(split, unsplit)
