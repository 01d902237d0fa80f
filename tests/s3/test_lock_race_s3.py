"""The S3 double write of issue 19, reproduced step by step on moto's S3 server (tests/s3/conftest.py).

The former lock (write a lease file, read it back, hold the stream if it still says "mine") let two writers in when
both looked at the lock before either wrote, and the second wrote after the first had read its own lease back. The
test below forces exactly that order with barriers between the lock's steps (no sleeps, no timing luck): both
writers find the stream free, A claims and holds it, then B claims. Each writer does what a pull does under the
lock: read the stream, write the rows it does not hold yet, commit. The conditional-write lock refuses B's claim,
so B waits, finds A's rows, and commits nothing: every row once. (Against the former lock B got in too, both read
an empty stream and every row landed twice.)
"""

from __future__ import annotations

import threading

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import kalshi_extract.lake.locks as locks
from kalshi_extract.errors import LakeLockedError
from kalshi_extract.lake.locks import StreamLock
from kalshi_extract.lake.store import Lake
from tests.lake.test_lake import trades

WAIT = 60  # a bound on each wait for the other writer's step, never reached when the steps happen


def _land_missing(lake: Lake, batch: pa.RecordBatch, run_id: str, after_read=lambda: None) -> int:
    """What a pull does under the stream's lock: the rows the lake does not hold yet, written and committed."""
    held = lake.scan("trades", ["trade_id"])
    after_read()
    new = pa.Table.from_batches([batch])
    if held is not None:
        new = new.filter(pc.invert(pc.is_in(new.column("trade_id"), held.column("trade_id"))))
    if new.num_rows:
        w = lake.writer("trades", run_id)
        w.write(new)
        lake.commit("trades", w.finish())
    return new.num_rows


def test_the_interleaving_that_let_two_writers_in_lets_exactly_one_commit(s3_lake_dir, monkeypatch):
    root = f"{s3_lake_dir}/lake"
    batch = trades(40)  # the same trades, as two `pull trades` at once both fetch
    both_looked = threading.Barrier(2, timeout=WAIT)
    a_holds = threading.Event()
    b_refused = threading.Event()
    b_settled = threading.Event()  # B's first claim has run: refused, or (the former lock) B got in
    read = {"A": threading.Event(), "B": threading.Event()}
    claims: dict[str, list[str]] = {"A": [], "B": []}
    landed: dict[str, int] = {}
    inside: list[str] = []
    overlaps: list[list[str]] = []
    errors: list[BaseException] = []
    real_create = StreamLock._create

    def create(self, path, data):  # the lock's claim step, after it found the stream free
        me = threading.current_thread().name
        first = not claims[me]
        claims[me].append(path.rsplit("/", 1)[-1])
        if first:
            both_looked.wait()  # both writers have looked at the lock and found it free
            if me == "B":
                assert a_holds.wait(WAIT), "A never got the lock"  # B claims once A holds the stream
        try:
            return real_create(self, path, data)
        except FileExistsError:
            if me == "B":
                b_refused.set()
                b_settled.set()
            raise

    monkeypatch.setattr(StreamLock, "_create", create)

    def writer() -> None:
        me = threading.current_thread().name
        other = "B" if me == "A" else "A"
        try:
            lake = Lake(root)  # each its own Lake, as two processes would have
            with lake.lock("trades", timeout=WAIT):
                inside.append(me)
                if len(inside) > 1:
                    overlaps.append(list(inside))
                if me == "A":
                    a_holds.set()
                    assert b_settled.wait(WAIT), "B's claim never finished"
                else:
                    b_settled.set()

                def after_read() -> None:
                    read[me].set()
                    if (
                        not b_refused.is_set()
                    ):  # both inside (the former lock): both read before either commits
                        assert read[other].wait(WAIT)

                landed[me] = _land_missing(lake, batch, f"run-{me}", after_read)
                inside.remove(me)
        except BaseException as exc:  # noqa: BLE001 (re-raised in the test's thread)
            errors.append(exc)

    threads = [threading.Thread(target=writer, name=name) for name in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=3 * WAIT)
    assert not errors, errors
    assert not overlaps, f"two writers held the stream at once: {overlaps}"
    ids = Lake(root).read("trades", columns=["trade_id"]).column("trade_id").to_pylist()
    assert len(ids) == len(set(ids)) == 40, f"{len(ids) - len(set(ids))} rows landed twice"
    assert landed == {"A": 40, "B": 0}  # exactly one writer committed rows
    # the forced order happened: both claimed generation 0, B's claim was refused, B then took generation 1
    assert claims["A"] == ["000000000000.json"] and claims["B"][0] == "000000000000.json"
    assert b_refused.is_set() and claims["B"][-1] == "000000000001.json"


def test_a_writer_paused_past_its_lease_commits_nothing_and_the_rows_land_once(s3_lake_dir, monkeypatch):
    root = f"{s3_lake_dir}/lake"
    batch = trades(30)
    taken_over = threading.Event()
    paused = Lake(root)
    monkeypatch.setattr(locks, "LEASE_SECONDS", 1.5)  # the paused writer's lease: short, not to wait 15 s
    with paused.lock("trades"):
        monkeypatch.setattr(locks, "LEASE_SECONDS", 15.0)  # the next writer's: the real one
        held = paused._held["trades"]
        assert paused.scan("trades", ["trade_id"]) is None  # it read an empty stream, as the pull would
        w = paused.writer("trades", "run-paused")
        w.write(batch)
        files = w.finish()
        held._stop.set()  # now it pauses (GC, swapped out…) before its commit: no heartbeat renews the lease
        held._thread.join()

        landed: list[int] = []

        def next_writer() -> None:  # waits for the lapsed lease, takes the stream over, lands the rows
            lake = Lake(root)
            with lake.lock("trades", timeout=30):
                landed.append(_land_missing(lake, batch, "run-next"))
            taken_over.set()

        t = threading.Thread(target=next_writer)
        t.start()
        assert taken_over.wait(30), "the next writer never took the lapsed lease over"
        t.join()
        assert landed == [30]
        with pytest.raises(LakeLockedError, match="lost the lock"):
            paused.commit("trades", files)  # the paused writer resumes: its commit is refused
    ids = Lake(root).read("trades", columns=["trade_id"]).column("trade_id").to_pylist()
    assert len(ids) == len(set(ids)) == 30
