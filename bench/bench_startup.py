"""Start-up cost of the CLI: CPU seconds of a whole `kalshi-lake` process for `--help`, `status`, `status --json`,
`sql "select 1"` and a `build` that finds nothing changed, each beside baselines measured in the same run (issue
#12: "well under a second of CPU"; issue #20: `status` ≤ 0.5 s on the demo, `build` with no change ≤ 1 s plus
start-up).

Every command is one child process measured from outside (`bench.common.run_process`: user + system CPU from the
kernel's rusage, interpreter start-up and imports included), run as the console script does
(`python -c "from kalshi_lake.cli import main; main()" ...`). `status` and `sql` read a small demo lake built
first by `kalshi-lake demo` (not measured). Each command runs once unmeasured (bytecode cached, as on a user's
machine after the first run), then `repeats` rounds in which every baseline and command runs once in turn
(interleaved, so load from other processes falls on all alike); the median CPU is reported, with the minimum, its
ratio to the pyarrow+DuckDB import of the same run, and the load average.

`topups()` (``python -m bench.bench_startup topups``): the Parquet file count of the demo lake after the demo and
after each of ten hourly top-ups (issue #20: ≤ 100 files), rows per stream before and after.

Baselines: `python -c pass` (the interpreter alone) and `python -c "import pyarrow, duckdb"` (the two native
libraries a data command cannot avoid). Every process runs with pandas hidden, as in a plain install.
"""

from __future__ import annotations

import shutil
import statistics
import sys
from typing import Any

from bench.common import BenchError, child_env, run_process, work_dir

# A plain install has no pandas, but pyarrow imports it whenever it is installed (the bench group installs it for
# the seed-style baseline): every measured process, baselines included, runs with pandas made unimportable.
_NO_PANDAS = """
import importlib.abc, sys
class _HidePandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
sys.meta_path.insert(0, _HidePandas())
"""
CLI = _NO_PANDAS + "from kalshi_lake.cli import main; main()"
TARGET_CPU_S = 1.0  # "well under a second of CPU"

BASELINES: dict[str, list[str]] = {
    "python -c pass": ["-c", _NO_PANDAS + "pass"],
    'python -c "import pyarrow, duckdb"': ["-c", _NO_PANDAS + "import pyarrow, duckdb"],
}
COMMANDS: dict[str, list[str]] = {
    "kalshi-lake --help": ["--help"],
    "kalshi-lake status": ["status"],
    "kalshi-lake status --json": ["status", "--json"],
    'kalshi-lake sql "select 1"': ["sql", "select 1"],
    "kalshi-lake build (no change)": [
        "build"
    ],  # the demo built the warehouse: every run finds nothing changed
}


def _build_demo_lake(lake_dir: str, size: str, seed: int) -> float:
    """A small lake + warehouse from `kalshi-lake demo`; returns its wall seconds."""
    env = child_env({"KALSHI_LAKE_DIR": lake_dir, "COLUMNS": "120"})
    argv = [sys.executable, "-c", CLI, "demo", "--size", size, "--seed", str(seed)]
    child = run_process("demo", argv, env=env, timeout=1800)
    if child.returncode != 0 or child.timed_out:
        raise BenchError(f"kalshi-lake demo failed (status {child.returncode})\n{child.stderr_tail}")
    return child.wall_s


def _measure_all(cases: dict[str, list[str]], env: dict[str, str], repeats: int) -> dict[str, dict[str, Any]]:
    """Every case once unmeasured (bytecode cached), then ``repeats`` rounds, each running every case once in turn
    (interleaved: a burst of load from other processes falls on every case alike, so same-run ratios hold)."""
    runs: dict[str, list] = {name: [] for name in cases}
    for i in range(repeats + 1):
        for name, argv in cases.items():
            child = run_process(name, argv, env=env, timeout=300)
            if child.returncode != 0 or child.timed_out:
                raise BenchError(f"{name}: exited with status {child.returncode}\n{child.stderr_tail}")
            if i:  # the first round only warms the bytecode cache
                runs[name].append(child)
    out = {}
    for name, children in runs.items():
        cpu = [c.cpu_s for c in children]
        out[name] = {
            "cpu_s": statistics.median(cpu),
            "cpu_min_s": min(cpu),
            "wall_s": statistics.median(c.wall_s for c in children),
            "peak_rss_mb": max(c.peak_mem_bytes for c in children) / 1e6,
            "repeats": repeats,
        }
    return out


def startup(size: str = "tiny", seed: int = 7, repeats: int = 5) -> dict[str, Any]:
    """Measure every baseline and command (see the module docstring); figures in seconds of CPU."""
    root = work_dir() / "startup"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    lake_dir = str(root / "data")
    demo_wall = _build_demo_lake(lake_dir, size, seed)
    env = child_env({"KALSHI_LAKE_DIR": lake_dir, "COLUMNS": "120"})
    cases = {name: [sys.executable, *args] for name, args in BASELINES.items()}
    cases.update({name: [sys.executable, "-c", CLI, *args] for name, args in COMMANDS.items()})
    figures = _measure_all(cases, env, repeats)
    floor = figures["python -c pass"]["cpu_s"]
    native = figures['python -c "import pyarrow, duckdb"']["cpu_s"]
    for name in COMMANDS:
        f = figures[name]
        f["over_python_s"] = f["cpu_s"] - floor
        f["over_pyarrow_duckdb_s"] = f["cpu_s"] - native
        f["ratio_pyarrow_duckdb"] = f["cpu_s"] / native  # same run: what the quiet-machine figure scales by
    return {
        "load_average": _load(),
        "demo_size": size,
        "demo_wall_s": demo_wall,
        "target_cpu_s": TARGET_CPU_S,
        "baselines": list(BASELINES),
        "commands": list(COMMANDS),
        "figures": figures,
    }


def _load() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages when the run ended (the machine is shared: quote them)."""
    import os

    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - no load average on this platform
        return None


# --------------------------------------------------------------------------------------------------------------
# Files in the demo lake after top-ups (issue #20: "the demo lake ≤ 100 files after ten top-ups")
# --------------------------------------------------------------------------------------------------------------
TARGET_FILES = 100


def _lake_files(lake_root) -> dict[str, int]:
    """Parquet files of the lake: data streams and the run log apart."""
    from pathlib import Path

    files = [str(p) for p in Path(lake_root).rglob("*.parquet")]
    runs = sum(1 for f in files if "/_runs/" in f)
    return {"data": len(files) - runs, "run_log": runs, "total": len(files)}


def topups(size: str = "demo", seed: int = 7, n: int = 10, hours: float = 1.0) -> dict[str, Any]:
    """`kalshi-lake demo` (in this process, its local exchange kept running), then ``n`` top-ups: the exchange
    advances ``hours`` and every stream of the demo account is pulled again (what `kalshi-lake pull` does).
    Returns the lake's Parquet file count after the demo and after each top-up, and the rows per stream before
    and after (compaction changes no row)."""
    import io

    from rich.console import Console

    import kalshi_sim
    from kalshi_extract.ingest.plan import plan_pull
    from kalshi_extract.ingest.run import run_pull
    from kalshi_extract.ingest.status import lake_status
    from kalshi_extract.settings import Settings
    from kalshi_lake import demo as demo_mod

    root = work_dir() / "topups"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    kept: list[Any] = []

    accounts: list[Any] = []

    class _KeptExchange(kalshi_sim.LocalExchange):  # the demo's exchange outlives the demo, for the top-ups
        def create_account(self, *args, **kwargs):
            accounts.append(super().create_account(*args, **kwargs))
            return accounts[-1]

        def __exit__(self, *exc):
            kept.append(self)
            return False

    user = Settings.load(environ={"KALSHI_LAKE_DIR": str(root / "data")}, config_path=None)
    real = kalshi_sim.LocalExchange
    kalshi_sim.LocalExchange = _KeptExchange
    try:
        report = demo_mod.run_demo(seed=seed, size=size, console=Console(file=io.StringIO()), settings=user)
    finally:
        kalshi_sim.LocalExchange = real
    ex = kept[0]
    try:
        account = next(a for a in accounts if report.account == f"demo-{a.key_id[:8]}")
        settings = demo_mod.demo_settings(user, account, str(root / "data"))
        lake_root = settings.lake_root
        counts = [_lake_files(lake_root)]
        rows_before = {s["stream"]: s["rows"] for s in lake_status(settings)["streams"]}
        for _ in range(n):
            ex.advance(seconds=int(hours * 3600))
            run_pull(settings, plan_pull(settings))
            counts.append(_lake_files(lake_root))
        rows_after = {s["stream"]: s["rows"] for s in lake_status(settings)["streams"]}
    finally:
        real.__exit__(ex, None, None, None)
    return {
        "size": size,
        "topups": n,
        "hours_each": hours,
        "files": counts,
        "target_files": TARGET_FILES,
        "met": counts[-1]["total"] <= TARGET_FILES,
        "rows_after_demo": rows_before,
        "rows_after_topups": rows_after,
    }


if __name__ == "__main__":
    import json

    if sys.argv[1:2] == ["topups"]:
        out = topups(*(sys.argv[2:3] or ["demo"]))
        print(json.dumps({k: v for k, v in out.items() if not k.startswith("rows")}, indent=1))
    else:
        print(json.dumps(startup(), indent=1, default=str))
