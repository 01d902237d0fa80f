"""S3 lake benchmark: pull time local vs S3, S3 requests (all, and the writer lock's), and the lock under
concurrent writers and a kill, on moto's S3 server on loopback (the one tests/s3 start).

    uv run python -m bench.bench_s3 [--size small|medium]

Prints one JSON document (the figures BENCHMARKS.md "S3 lake" quotes). moto answers from memory on the same
2 cores, so wall-clock figures measure the client's round trips, not a real S3's latency (~10–30 ms a request
there, so the request count is the figure that carries over); each pull runs in a child process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_LINE = re.compile(rb'"(GET|PUT|HEAD|POST|DELETE) (\S+) HTTP/1\.1" (\d+)')


def _requests(log: str, start: int) -> tuple[int, Counter, int]:
    """(lines read, requests by method, requests on `_locks/`) of the moto log from byte `start`."""
    with open(log, "rb") as fh:
        fh.seek(start)
        data = fh.read()
    by, locks = Counter(), 0
    for m in _LINE.finditer(data):
        method, path = m.group(1).decode(), m.group(2)
        kind = "LIST" if method == "GET" and (b"list-type" in path or b"prefix=" in path) else method
        by[kind] += 1
        locks += b"_locks" in path
    return sum(by.values()), by, locks


def _pull(env: dict, small: bool = False) -> subprocess.Popen:
    args = [sys.executable, "-m", "tests.s3.child", "pull", json.dumps(env), "trades", "300"]
    return subprocess.Popen(
        args + (["small"] if small else []),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _done(proc) -> dict:
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(err[-3000:])
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="small")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from kalshi_extract.lake.store import Lake
    from kalshi_sim import LocalExchange
    from tests.s3.conftest import AWS_ENV, new_bucket, start_moto

    work = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    log = str(work / "moto.log")
    moto, url = start_moto(log)
    os.environ.update({**AWS_ENV, "AWS_ENDPOINT_URL": url})
    out: dict = {"size": args.size}
    try:
        with LocalExchange(seed=7, size=args.size, subprocess=True) as ex:
            acct = ex.create_account(balance_cents=100)

            def env(lake_dir: str) -> dict:
                return {**acct.env, "KALSHI_LAKE_DIR": lake_dir, "KALSHI_CONCURRENCY": "4"}

            for name, lake_dir in (("local", str(work / "local")), ("s3", f"s3://{new_bucket()}/k")):
                start = os.path.getsize(log)
                t0 = time.monotonic()
                res = _done(_pull(env(lake_dir)))
                wall = time.monotonic() - t0
                n, by, locks = _requests(log, start)
                rows = Lake(f"{lake_dir}/lake").read("trades", columns=["trade_id"]).num_rows
                out[f"pull_{name}"] = {
                    "rows": rows,
                    "pull_seconds": res["_seconds"],
                    "process_seconds": round(wall, 2),
                    "s3_requests": n,
                    "by_method": dict(by),
                    "lock_requests": locks,
                }
            ids = out["pull_s3"]["rows"]

            lake_dir = f"s3://{new_bucket()}/k"  # two writers at once
            start = os.path.getsize(log)
            t0 = time.monotonic()
            a, b = _pull(env(lake_dir)), _pull(env(lake_dir))
            _done(a), _done(b)
            got = Lake(f"{lake_dir}/lake").read("trades", columns=["trade_id"]).column("trade_id")
            out["two_concurrent_pulls"] = {
                "rows": len(got),
                "distinct": len(set(got.to_pylist())),
                "expected": ids,
                "seconds": round(time.monotonic() - t0, 2),
                "s3_requests": _requests(log, start)[0],
            }

            lake_dir = f"s3://{new_bucket()}/k"  # a kill mid-pull, then a re-run
            lake = Lake(f"{lake_dir}/lake")
            p = _pull(env(lake_dir), small=True)
            while not lake.files("trades"):
                time.sleep(0.2)
            p.kill()
            p.communicate()
            t0 = time.monotonic()
            rerun = _done(_pull(env(lake_dir), small=True))
            got = lake.read("trades", columns=["trade_id"]).column("trade_id")
            out["kill_then_rerun"] = {
                "rerun_pull_seconds": rerun["_seconds"],
                "rerun_process_seconds": round(time.monotonic() - t0, 2),
                "rows": len(got),
                "distinct": len(set(got.to_pylist())),
                "expected": ids,
            }

            lake = Lake(
                f"s3://{new_bucket()}/k/lake"
            )  # the lock alone: requests and time per acquire+release
            start = os.path.getsize(log)
            t0 = time.monotonic()
            for _ in range(20):
                with lake.lock("trades", timeout=10):
                    pass
            out["lock_acquire_release"] = {
                "seconds_each": round((time.monotonic() - t0) / 20, 4),
                "s3_requests_each": round(_requests(log, start)[0] / 20, 1),
            }
    finally:
        moto.kill()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
