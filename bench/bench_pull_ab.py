"""Pull CPU before/after in one run: the fetch-only floor, kalshi-lake at a base revision and kalshi-lake as checked
out, pulling the same tape from the same local exchange, in alternating rounds.

``uv run --group bench python -m bench.bench_pull_ab --size 1000000 --base d218e76 --rounds 3``

The base revision's ``kalshi_extract`` and ``bench`` packages are extracted with ``git archive`` into the work
directory and its ``bench.lake_child`` runs with them first on ``PYTHONPATH`` (same interpreter, same virtualenv).
Each contender is one measured child process (``bench.common.run_child``: whole-process CPU, ``ru_maxrss``). Printed:
per round and as the median of the rounds, CPU µs per row and each kalshi-lake's CPU ÷ the floor's CPU of the same
round, the issue #20 target (≤ 2.5×, aim 2×). ``--decoders`` instead times page decoders side by side on pages
fetched from the exchange (in this process, CPU of the decode + convert step only).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import requests

from bench.bench_pull import _fresh_dir, _stream_rows, start_exchange
from bench.common import REPO_ROOT, child_env, run_child, work_dir


def _base_tree(rev: str) -> Path:
    out = work_dir() / f"ab_base_{rev}"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    tar = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", rev, "kalshi_extract", "bench"],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(out, filter="data")
    return out


def _lake(name: str, url: str, env: dict | None) -> dict:
    lake_dir = _fresh_dir("ab", name)
    args = ["--base-url", url, "--lake-dir", str(lake_dir), "--streams", "trades", "--tier", "unlimited"]
    child = run_child(name, "bench.lake_child", args, env=env, timeout=1800)
    child.check()
    if child.summary.get("error"):
        raise SystemExit(f"{name}: {child.summary['error']}")
    return _fig(child, _stream_rows(child.summary, "trades"))


def _floor(url: str, paths: list[str]) -> dict:
    args = ["--base-url", url, "--out", str(_fresh_dir("ab", "fetch_only"))]
    for p in paths:
        args += ["--path", p]
    child = run_child("fetch_only", "bench.baselines.fetch_only", args, timeout=1800)
    child.check()
    return _fig(child, int(child.summary.get("rows") or 0))


def _fig(child, rows: int | None) -> dict:
    startup = child.summary.get("startup_cpu_s")
    return {
        "rows": rows,
        "cpu_s": child.cpu_s,
        "pull_cpu_s": child.cpu_s - startup if startup is not None else None,  # after imports
        "wall_s": child.wall_s,
        "peak_rss_mb": child.peak_rss_bytes / 1e6,
    }


def ab(size: int, base: str, rounds: int) -> dict:
    base_env = child_env({"PYTHONPATH": str(_base_tree(base))})
    out: dict = {"size": size, "base": base, "rounds": []}
    with start_exchange(size) as ex:
        paths = ex.trade_paths()
        for r in range(rounds):
            rnd = {"fetch_only": _floor(ex.base_url, paths)}
            order = [("base", base_env), ("this", None)]
            for name, env in order if r % 2 == 0 else order[::-1]:
                rnd[name] = _lake(name, ex.base_url, env)
            for name in ("base", "this"):
                if rnd[name]["rows"] != rnd["fetch_only"]["rows"]:
                    raise SystemExit(
                        f"round {r}: {name} landed {rnd[name]['rows']} rows, the floor saw "
                        f"{rnd['fetch_only']['rows']}"
                    )
                rnd[name]["x_floor"] = rnd[name]["cpu_s"] / rnd["fetch_only"]["cpu_s"]
                if rnd[name]["pull_cpu_s"] is not None and rnd["fetch_only"]["pull_cpu_s"]:
                    rnd[name]["x_floor_excl_startup"] = (
                        rnd[name]["pull_cpu_s"] / rnd["fetch_only"]["pull_cpu_s"]
                    )
            out["rounds"].append(rnd)
            print(_line(r, rnd), flush=True)
    med = {}
    for name in ("fetch_only", "base", "this"):
        rows = out["rounds"][0][name]["rows"]
        med[name] = {
            "cpu_us_per_row": statistics.median(x[name]["cpu_s"] for x in out["rounds"]) / rows * 1e6,
            "peak_rss_mb": max(x[name]["peak_rss_mb"] for x in out["rounds"]),
        }
        pulls = [x[name]["pull_cpu_s"] for x in out["rounds"] if x[name]["pull_cpu_s"] is not None]
        med[name]["pull_cpu_us_per_row"] = statistics.median(pulls) / rows * 1e6 if pulls else None
        if name != "fetch_only":
            med[name]["x_floor"] = statistics.median(x[name]["x_floor"] for x in out["rounds"])
            xs = [x[name].get("x_floor_excl_startup") for x in out["rounds"]]
            med[name]["x_floor_excl_startup"] = statistics.median(xs) if None not in xs else None
    out["median"] = med
    print(
        f"median of {rounds}: floor {med['fetch_only']['cpu_us_per_row']:.2f} µs/row; "
        f"base {med['base']['cpu_us_per_row']:.2f} µs/row = {med['base']['x_floor']:.2f}× floor, "
        f"{med['base']['peak_rss_mb']:.0f} MB; this {med['this']['cpu_us_per_row']:.2f} µs/row = "
        f"{med['this']['x_floor']:.2f}× floor, {med['this']['peak_rss_mb']:.0f} MB (target ≤ 2.5×, aim 2×)"
    )
    if med["base"].get("x_floor_excl_startup") and med["this"].get("x_floor_excl_startup"):
        print(
            f"excluding start-up (CPU before the first request): floor "
            f"{med['fetch_only']['pull_cpu_us_per_row']:.2f} µs/row; base {med['base']['pull_cpu_us_per_row']:.2f} "
            f"= {med['base']['x_floor_excl_startup']:.2f}×; this {med['this']['pull_cpu_us_per_row']:.2f} "
            f"= {med['this']['x_floor_excl_startup']:.2f}×"
        )
    return out


def _line(r: int, rnd: dict) -> str:
    rows = rnd["fetch_only"]["rows"]
    parts = [f"round {r}: {rows:,} rows"]
    for name in ("fetch_only", "base", "this"):
        d = rnd[name]
        x = f" = {d['x_floor']:.2f}× floor" if "x_floor" in d else ""
        pull = f" ({d['pull_cpu_s'] / rows * 1e6:.2f} excl. start-up)" if d["pull_cpu_s"] is not None else ""
        parts.append(f"{name} {d['cpu_s'] / rows * 1e6:.2f} µs/row{pull}{x}, {d['peak_rss_mb']:.0f} MB")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------------------------
# decoders side by side


def decoders(size: int, pages: int, reps: int) -> dict:
    from datetime import UTC, datetime

    import orjson
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc

    from kalshi_extract.lake.convert import BodyDecoder, Converter
    from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema

    cols = STREAM_COLUMNS["trades"]
    bodies: list[bytes] = []
    with start_exchange(size) as ex:
        for path in ex.trade_paths():
            cursor = None
            while len(bodies) < pages:
                params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
                r = requests.get(ex.base_url + path, params=params, timeout=60)
                r.raise_for_status()
                bodies.append(r.content)
                cursor = orjson.loads(r.content).get("cursor")
                if not cursor:
                    break
    rows = sum(len(orjson.loads(b)["trades"]) for b in bodies)
    conv = Converter("trades", cols, arrow_schema("trades"), run_id="r", loaded_at=datetime.now(UTC))
    dec = BodyDecoder.for_stream("trades", cols, "trades")
    plschema = {
        "cursor": pl.String,
        "trades": pl.List(pl.Struct({c.name: pl.Boolean if c.kind == "bool" else pl.String for c in cols})),
    }

    def polars_lax(b: bytes):  # NOT exact: drops unknown fields and turns numbers into text silently
        tb = pl.read_json(b, schema=plschema).select(pl.col("trades").explode()).unnest("trades").to_arrow()
        return [pc.cast(tb.column(c.name), c.type) for c in cols]

    contenders = {
        "orjson.loads only (HTTP layer today)": orjson.loads,
        "orjson.loads + Converter.convert (before)": lambda b: conv.convert(orjson.loads(b)["trades"]),
        "BodyDecoder + Converter.convert (after)": lambda b: conv.convert(dec.decode(b)[0]),
        "polars read_json + casts (lax, not exact)": polars_lax,
    }
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(reps):  # interleaved rounds, best of each: the machine is shared
        for name, f in contenders.items():
            t0 = time.process_time()
            for b in bodies:
                f(b)
            best[name] = min(best[name], time.process_time() - t0)
    out = {"rows": rows, "pages": len(bodies), "us_per_row": {k: v / rows * 1e6 for k, v in best.items()}}
    print(f"{len(bodies)} pages, {rows:,} trades; CPU µs per row, best of {reps}, pyarrow {pa.__version__}")
    for k, v in out["us_per_row"].items():
        print(f"  {k:45s} {v:.3f}")
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--base", default="HEAD~1", help="git revision to compare with (default HEAD~1)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--decoders", action="store_true", help="time page decoders side by side instead")
    p.add_argument("--pages", type=int, default=300)
    p.add_argument("--json", default=None, help="also write the figures to this file")
    a = p.parse_args()
    res = decoders(a.size, a.pages, max(a.rounds, 3)) if a.decoders else ab(a.size, a.base, a.rounds)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    sys.exit(main())
