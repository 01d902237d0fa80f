"""The writer lock of an S3 lake (kalshi_extract.lake.locks) on a real S3 server (moto, tests/s3/conftest.py):
mutual exclusion by conditional create, takeover of a killed holder's lease within the lease, and no commit by a
writer whose lease lapsed."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kalshi_extract.lake.locks as locks
from kalshi_extract.errors import LakeError, LakeLockedError
from kalshi_extract.lake.store import Lake

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_racing_writers_never_overlap(s3_lake_dir):
    root = f"{s3_lake_dir}/lake"
    inside, overlaps, entries = [], [], []
    guard = threading.Lock()

    def writer(n: int) -> None:
        lake = Lake(root)  # each its own Lake, as separate processes would have
        for _ in range(4):
            with lake.lock("trades", timeout=60):
                with guard:
                    inside.append(n)
                    if len(inside) > 1:
                        overlaps.append(list(inside))
                    entries.append(n)
                time.sleep(0.05)
                with guard:
                    inside.remove(n)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not overlaps, f"two writers held the lock at once: {overlaps[:3]}"
    assert len(entries) == 24


def test_second_writer_waits_then_fails_naming_the_holder(s3_lake_dir):
    lake = Lake(f"{s3_lake_dir}/lake")
    with lake.lock("trades"):
        with pytest.raises(LakeLockedError, match="is being written by pid"):
            with Lake(lake.uri).lock("trades", timeout=0.5):
                pass
    with Lake(lake.uri).lock("trades", timeout=2):  # released: taken at once
        pass


@pytest.mark.slow
def test_a_killed_holders_lease_is_taken_over_within_the_lease(s3_lake_dir):
    root = f"{s3_lake_dir}/lake"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.s3.child", "hold", root, "trades"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        child.kill()
        child.wait(timeout=30)
        t0 = time.monotonic()
        with Lake(root).lock("trades", timeout=locks.LEASE_SECONDS + 30):
            waited = time.monotonic() - t0
    finally:
        child.kill()
    # the lease (15 s) and a poll: not the ~120 s the former lease file made a re-run wait
    assert waited <= 20, f"waited {waited:.1f}s for a dead writer's lock"


def test_a_writer_whose_lease_lapsed_does_not_commit(s3_lake_dir, monkeypatch):
    monkeypatch.setattr(locks, "LEASE_SECONDS", 2.0)
    root = f"{s3_lake_dir}/lake"
    stalled = Lake(root)
    with stalled.lock("trades"):
        held = stalled._held["trades"]
        held._stop.set()  # the heartbeat stops, as in a writer paused (GC, swapped out) past its lease
        held._thread.join()
        time.sleep(2.5)
        with Lake(root).lock("trades", timeout=5):  # the next writer takes the expired lease over
            pass
        tmp = stalled._tmp_path("trades")
        pq.write_table(pa.table({"trade_id": ["a"]}), tmp, filesystem=stalled.fs)
        with pytest.raises(LakeLockedError, match="lost the lock"):
            stalled.commit("trades", [(tmp, stalled._part_path("trades", "2026-01-01", "run-stalled"))])
    assert stalled.files("trades") == []


def test_a_pyarrow_object_store_without_conditional_writes_is_refused(s3_lake_dir):
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(f"{s3_lake_dir}/lake")
    lake = Lake(path, filesystem=fs)
    with pytest.raises(LakeError, match="no create-if-absent write"):
        with lake.lock("trades", timeout=1):
            pass
