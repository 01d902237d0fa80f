"""The one command: ``uv run --group bench python -m bench`` runs every pull benchmark and reports.

Prints a table on stdout, writes every figure and ratio to ``bench/results.json`` (git-ignored) and checks the
targets of issue #9. ``--quick`` runs everything at a tiny size (what the smoke test does); ``--only`` picks
scenarios; ``--models`` / ``--backtest`` / ``--book`` / ``--recorder`` also run ``bench.bench_models`` (full,
no-change and incremental top-up builds) / ``bench.bench_backtest`` / ``bench.bench_book`` /
``bench.bench_recorder`` (WebSocket recorder throughput) as child processes and store what they print.

A scenario that cannot run (the local exchange or the lake missing, a contender failing) is recorded under
``not_measured`` with the reason; the others still run. The exit status is 0 when every requested scenario ran,
1 otherwise (missed targets do not change the exit status: they are findings, reported in the table).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shlex
import sys
import traceback
from pathlib import Path
from typing import Any

from bench import bench_incremental, bench_pull, bench_startup
from bench.common import REPO_ROOT, BenchError, child_env, run_child
from bench.report import evaluate_targets, render, update_markdown

SCENARIOS = ("rate", "cpu", "incremental", "startup")


def _size(text: str) -> int | str:
    return int(text.replace("_", "")) if text.replace("_", "").isdigit() else text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--size", type=_size, default=1_000_000, help="trades in the big CPU-bound run")
    p.add_argument("--small-size", type=_size, default=300_000, help="trades in the small CPU-bound run")
    p.add_argument(
        "--rate-size", type=_size, default=None, help="exchange size, rate-limit run (default: --size)"
    )
    p.add_argument("--rate-seconds", type=float, default=25.0, help="how long to pull against the Basic tier")
    p.add_argument("--incremental-size", type=_size, default="demo", help="exchange size, incremental run")
    p.add_argument("--startup-size", default="tiny", help="demo lake size for the start-up run (status, sql)")
    p.add_argument("--startup-repeats", type=int, default=5, help="measured runs per command, start-up run")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--only", default=",".join(SCENARIOS), help=f"comma list of {', '.join(SCENARIOS)}")
    p.add_argument("--baselines", default="fetch_only,seed_style,dlt", help="baselines in the big run")
    p.add_argument(
        "--small-baselines", default="fetch_only,seed_style,dlt", help="baselines in the small run"
    )
    p.add_argument(
        "--no-lake-without-pandas",
        dest="lake_without_pandas",
        action="store_false",
        help="skip the extra kalshi-lake run with pandas hidden (a plain install has no pandas)",
    )
    p.add_argument(
        "--quick", action="store_true", help="tiny sizes (smoke test): 20k/5k trades, 4 s rate run"
    )
    p.add_argument(
        "--dev-server", action="store_true", help="DEV AID: baselines only, against bench.devserver"
    )
    p.add_argument("--models", action="store_true", help="also run bench.bench_models")
    p.add_argument("--backtest", action="store_true", help="also run bench.bench_backtest")
    p.add_argument("--book", action="store_true", help="also run bench.bench_book (book_at over a busy day)")
    p.add_argument("--book-args", default="", help='arguments for bench.bench_book, e.g. "--deltas 100000"')
    p.add_argument(
        "--recorder", action="store_true", help="also run bench.bench_recorder (recorder throughput)"
    )
    p.add_argument(
        "--recorder-args",
        default="",
        help='arguments for bench.bench_recorder, e.g. "--markets 20 --hours 2"',
    )
    p.add_argument(
        "--models-args", default="", help='arguments for bench.bench_models, e.g. "--trades 1000000"'
    )
    p.add_argument(
        "--backtest-args", default="", help='arguments for bench.bench_backtest, e.g. "--trades 200000"'
    )
    p.add_argument("--results", default=str(REPO_ROOT / "bench" / "results.json"), help="where to write JSON")
    p.add_argument(
        "--work-dir", default=None, help="scratch directory for lakes and outputs (default bench/_work/run)"
    )
    p.add_argument("--update-md", action="store_true", help="rewrite the figures block of BENCHMARKS.md")
    args = p.parse_args(argv)
    if args.quick:
        args.size, args.small_size, args.rate_seconds = 20_000, 5_000, 4.0
        args.rate_size = args.incremental_size = "small"
        args.startup_repeats = 1
        args.models_args = args.models_args or "--trades 100000 --fills 2000 --markets 200"
        args.backtest_args = args.backtest_args or "--trades 100000 --markets 50"
        args.book_args = args.book_args or "--deltas 20000"
        args.recorder_args = args.recorder_args or "--markets 10 --hours 1 --size small"
    if args.rate_size is None:
        args.rate_size = args.size
    args.only = [s for s in args.only.split(",") if s]
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenario(s) {sorted(unknown)}; choose from {', '.join(SCENARIOS)}")
    args.baselines = tuple(b for b in args.baselines.split(",") if b)
    args.small_baselines = tuple(b for b in args.small_baselines.split(",") if b)
    for b in args.baselines + args.small_baselines:
        if b not in bench_pull.CONTENDERS:
            p.error(f"unknown baseline {b!r}; choose from {', '.join(bench_pull.CONTENDERS)}")
    return args


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg_at_start": os.getloadavg(),
    }


def _other_bench(module: str, args: str = "") -> dict[str, Any]:
    """Run another engineer's bench module as a child process; keep its summary and cost."""
    child = run_child(module, module, shlex.split(args), env=child_env(), timeout=3600).check()
    return {
        "args": args,
        "summary": child.summary,
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "peak_rss_mb": child.peak_mem_bytes / 1e6,
        "report": child.stderr_tail[-3000:],  # the module's own table (it prints it on stderr)
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.work_dir:
        os.environ["BENCH_WORK_DIR"] = str(Path(args.work_dir).resolve())
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {
        "date": started.isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": _machine(),
        "config": {k: v for k, v in vars(args).items() if k != "results"},
        "scenarios": {},
        "not_measured": {},
    }

    def attempt(key: str, fn, *a, **kw) -> None:
        print(f"[bench] {key} ...", file=sys.stderr, flush=True)
        try:
            results["scenarios"][key] = fn(*a, **kw)
            errs = (
                results["scenarios"][key].get("errors")
                if isinstance(results["scenarios"][key], dict)
                else None
            )
            if errs:
                for name, msg in errs.items():
                    results["not_measured"][f"{key}/{name}"] = msg
        except BenchError as exc:
            results["not_measured"][key] = str(exc)[-3000:]
        except Exception as exc:  # a broken scenario must not hide the others; the traceback is kept
            results["not_measured"][key] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-3000:]}"

    print(
        "[bench] warming up (caching bytecode of every contender's imports) ...", file=sys.stderr, flush=True
    )
    bench_pull.warm_up()
    with_lake = not args.dev_server
    shared = (
        None  # the big CPU run and the rate-limit run share one exchange when they ask for the same world
    )
    if "rate" in args.only and "cpu" in args.only and args.rate_size == args.size and not args.dev_server:
        shared = contextlib.ExitStack()
        try:
            ex = shared.enter_context(bench_pull.start_exchange(args.size, seed=args.seed))
        except BenchError as exc:
            results["not_measured"]["exchange"] = str(exc)
            ex = None
    else:
        ex = None
    try:
        if "rate" in args.only:
            attempt(
                "rate_limit",
                bench_pull.rate_limit,
                args.rate_size,
                seconds=args.rate_seconds,
                seed=args.seed,
                ex=ex,
            )
        if "cpu" in args.only:
            attempt(
                f"cpu_pull_{args.small_size}",
                bench_pull.cpu_pull,
                args.small_size,
                seed=args.seed,
                baselines=args.small_baselines,
                lake_without_pandas=args.lake_without_pandas,
                with_lake=with_lake,
                dev_server=args.dev_server,
            )
            attempt(
                f"cpu_pull_{args.size}",
                bench_pull.cpu_pull,
                args.size,
                seed=args.seed,
                baselines=args.baselines,
                lake_without_pandas=args.lake_without_pandas,
                with_lake=with_lake,
                dev_server=args.dev_server,
                ex=ex,
            )
    finally:
        if shared is not None:
            shared.close()
    if "incremental" in args.only:
        attempt("incremental", bench_incremental.incremental, args.incremental_size, seed=args.seed)
    if "startup" in args.only:
        attempt(
            "startup", bench_startup.startup, args.startup_size, seed=args.seed, repeats=args.startup_repeats
        )
    if args.models:
        attempt("models", _other_bench, "bench.bench_models", args.models_args)
    if args.backtest:
        attempt("backtest", _other_bench, "bench.bench_backtest", args.backtest_args)
    if args.book:
        attempt("book", _other_bench, "bench.bench_book", args.book_args)
    if args.recorder:
        attempt("recorder", _other_bench, "bench.bench_recorder", args.recorder_args)

    results["targets"] = evaluate_targets(results, big=args.size, small=args.small_size)
    results["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    Path(args.results).parent.mkdir(parents=True, exist_ok=True)
    Path(args.results).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(render(results))
    print(f"\nresults: {args.results}")
    if args.update_md:
        update_markdown(str(REPO_ROOT / "BENCHMARKS.md"), results)
        print("BENCHMARKS.md updated")
    return 1 if results["not_measured"] else 0


if __name__ == "__main__":
    sys.exit(main())
