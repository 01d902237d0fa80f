"""Two writers on one S3 lake (moto's server): two `pull trades` at once, and a pull killed mid-way then run again,
leave each trade exactly once, and the re-run after the kill waits at most the lease for the dead writer's lock."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kalshi_extract.lake.locks as locks
from kalshi_extract.lake.store import Lake

ROOT = Path(__file__).resolve().parents[2]


def _env(account, lake_dir: str) -> dict:
    return {**account.env, "KALSHI_LAKE_DIR": lake_dir, "KALSHI_CONCURRENCY": "4"}


def _pull(env: dict, lock_timeout: float = 300, small: bool = False) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.s3.child", "pull", json.dumps(env), "trades", str(lock_timeout)]
    return subprocess.Popen(
        args + (["small"] if small else []),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _done(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def _trade_ids(lake_dir: str) -> list[str]:
    return Lake(f"{lake_dir}/lake").read("trades", columns=["trade_id"]).column("trade_id").to_pylist()


@pytest.fixture(scope="module")
def expected(exchange, s3_server):
    """The trade ids one clean pull lands (the session exchange's public trades)."""
    from tests.s3.conftest import new_bucket

    account = exchange.create_account(balance_cents=100)
    lake_dir = f"s3://{new_bucket()}/k"
    _done(_pull(_env(account, lake_dir)))
    ids = _trade_ids(lake_dir)
    assert len(ids) == len(set(ids)) > 1000
    return account, set(ids)


@pytest.mark.slow
def test_two_concurrent_pulls_land_each_trade_once(expected, s3_lake_dir):
    account, ids = expected
    env = _env(account, s3_lake_dir)
    first, second = _pull(env), _pull(env)
    outs = [_done(first), _done(second)]
    got = _trade_ids(s3_lake_dir)
    assert len(got) == len(set(got)), f"{len(got) - len(set(got))} trades doubled"
    assert set(got) == ids
    assert all(o["trades"][0] == "ok" for o in outs)  # the second waited for the first's lock, then topped up


@pytest.mark.slow
def test_a_pull_killed_mid_way_then_run_again_lands_each_trade_once_without_a_long_wait(
    expected, s3_lake_dir
):
    account, ids = expected
    env = _env(account, s3_lake_dir)
    lake = Lake(f"{s3_lake_dir}/lake")
    proc = _pull(env, small=True)
    deadline = time.monotonic() + 120
    while not lake.files("trades") and time.monotonic() < deadline:  # killed after its first commits
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        time.sleep(0.2)
    proc.kill()
    proc.communicate(timeout=60)
    partial = _trade_ids(s3_lake_dir)
    assert 0 < len(partial) < len(ids), "the kill did not land mid-pull"
    t0 = time.monotonic()
    rerun = _done(_pull(env, small=True))
    took = time.monotonic() - t0
    got = _trade_ids(s3_lake_dir)
    assert len(got) == len(set(got)) and set(got) == ids
    # the dead writer's lease lapses within LEASE_SECONDS; the rest is the re-run itself (a clean pull of the
    # remaining pages, ~15 s here): far from the 120 s the former lease file made it wait
    assert rerun["_seconds"] < locks.LEASE_SECONDS + 45, f"re-run took {took:.1f}s ({rerun})"
