"""The rate budget of a split stream's shards, counted at the local exchange (which answers 429 past its tier):
shards in several processes of one machine share the flock'ed bucket; shards on several "machines" (processes with
separate pacer folders, as two hosts would have) stay within the budget only by pacing at their announced share."""

from __future__ import annotations

import pickle
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from kalshi_extract.api.pacer import MachineTokenBucket, Pacer, TokenBucket, share_of
from kalshi_extract.ingest.pull import Selection
from kalshi_extract.ingest.split import SplitPull
from kalshi_extract.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SIM_BUDGET = (200, 200)  # the local exchange's basic tier: read tokens per second, capacity
COST = 10  # tokens per request


def test_a_share_divides_rate_and_capacity(tmp_path):
    full = Pacer(MachineTokenBucket(180, 200, str(tmp_path / "r.bucket")), TokenBucket(90, 200), "basic")
    half = full.share(2)
    assert (half.read.rate, half.read.capacity) == (90, 100)
    assert (half.write.rate, half.write.capacity) == (45, 100)
    assert isinstance(half.read, MachineTokenBucket) and half.read.path != full.read.path
    assert full.share(1) is full and Pacer(None, None, "unlimited").share(3).unlimited
    assert share_of(full, 2) is share_of(full, 2)  # every client of the process paces together


_SHARD_PROCESS = """
import pickle, sys
import kalshi_extract.ingest.rule_base as R
R.PAGE_LIMIT = 40  # many small pages: enough requests to exceed the budget in a few seconds
from kalshi_extract.ingest.split import pull_shard
settings, shard = pickle.load(open(sys.argv[1], "rb"))
out = pull_shard(settings, shard)
assert out.ok, out.result.error
print(out.result.requests)
"""


def _run_shards(
    exchange, tmp_path: Path, name: str, rate_share: int, machines: int
) -> tuple[int, int, float]:
    """Two shards of a fresh lake's trades in two processes (`machines` = 1: one pacer folder; 2: one each);
    returns (requests, 429 answers, seconds) as the exchange saw them."""
    lake = tmp_path / name
    settings = Settings.load(
        environ={
            "KALSHI_ENV": "local",
            "KALSHI_API_URL": exchange.base_url,
            "KALSHI_LAKE_DIR": str(lake),
            "KALSHI_TIER": "basic",
        },
        config_path=None,
    )
    exchange.set_faults(rate_limit_tier=None)
    selection = Selection(
        since=exchange.now - timedelta(days=6)
    )  # the exchange's trades: shards of like size
    with SplitPull(settings, "trades", selection, f"run-{name}", 2, rate_share=rate_share) as split:
        exchange.set_faults(rate_limit_tier="basic")
        time.sleep(1.5)  # the exchange's bucket full again
        exchange.clear_requests()
        procs = []
        t0 = time.monotonic()
        for shard in split.shards:
            job = tmp_path / f"{name}-{shard.index}.pickle"
            job.write_bytes(pickle.dumps((settings, shard)))
            folder = tmp_path / f"{name}-machine-{shard.index % machines}"
            folder.mkdir(exist_ok=True)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _SHARD_PROCESS, str(job)],
                    cwd=ROOT,
                    env={**_env(), "TMPDIR": str(folder)},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-2000:]
        seconds = time.monotonic() - t0
        seen = [r for r in exchange.requests() if "trades" in r["path"]]
        exchange.set_faults(rate_limit_tier=None)
    return len(seen), sum(1 for r in seen if r["status"] == 429), seconds


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}


@pytest.mark.slow
def test_shards_stay_within_the_keys_budget_on_one_machine_and_on_two(fresh_exchange, tmp_path):
    rate, capacity = SIM_BUDGET
    # one machine: the two shard processes share the flock'ed bucket
    requests, throttled, seconds = _run_shards(fresh_exchange, tmp_path, "one-machine", 1, machines=1)
    assert requests > 40 and throttled == 0
    assert requests * COST <= capacity + rate * seconds
    # two machines, each pacing at the announced 1/2 share
    requests, throttled, seconds = _run_shards(fresh_exchange, tmp_path, "two-shared", 2, machines=2)
    assert requests > 40 and throttled == 0
    assert requests * COST <= capacity + rate * seconds
    # the same two machines without the share: each spends the whole budget, and the exchange says so
    _, throttled, _ = _run_shards(fresh_exchange, tmp_path, "two-unshared", 1, machines=2)
    assert throttled > 0
