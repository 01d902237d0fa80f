"""`bench_history.py`'s pulls for two revisions on one prepared year-long lake: before / after / before / after.

    uv run python bench/history_ab.py --before 6604eff --work /tmp/hist390 --rounds 3
    uv run python bench/history_ab.py --before HEAD~2 --after HEAD --work /tmp/h --markets 200 --trades 100000

`bench_history.py` generates and builds its lakes afresh in each run, and one run's pulls differ from the next by
more than a change to the top-up's bookkeeping. This prepares once: `WORK/saved/lake` is `bench_history`'s lake
repeated back to `--days` (generated on the first run, reused while the sizes match: `WORK/saved/sizes.json`), and
each revision's full build of it is kept (`WORK/saved/<revision>.duckdb`, made by that revision on its first run).
Each run restores the lake and that revision's warehouse into `WORK/run` and builds `bench_history.PULLS` (the day
before's last pull, the first after the full build, then the day's first six), each timed. Revisions are checked
out as in `models_ab.py` (a detached `git worktree` each, the child importing that tree's `kalshi_lake` and `sql/`);
this checkout's bench scripts run for all. Prints a table of the pulls (seconds, a column per run) on stderr and every
run's summary as one JSON list on the last stdout line."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_history  # noqa: E402
import bench_models  # noqa: E402
from models_ab import revision_trees, run_in_tree  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _lake(work: Path, sizes: dict) -> None:
    """The prepared lake under `work/saved`, generated again (with no warehouse) when missing or of other sizes."""
    saved = work / "saved"
    manifest = saved / "sizes.json"
    if manifest.exists() and json.loads(manifest.read_text()) == sizes:
        return
    shutil.rmtree(saved, ignore_errors=True)
    saved.mkdir(parents=True)
    bench_models.generate(saved / "lake", sizes["trades"], 1_000, sizes["markets"])
    bench_history.extend(saved / "lake", sizes["days"])
    manifest.write_text(json.dumps(sizes))


def _commit(rev: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short=12", rev], check=True, capture_output=True
    )
    return out.stdout.decode().strip()


def _run(tree: Path, work: Path, name: str, sizes: dict) -> dict:
    """One replay of the pulls with `tree`'s package on revision `name`'s prepared warehouse; its summary."""
    args = ["--replay", str(work), name, "--code", str(tree)]
    return run_in_tree(
        tree,
        "bench_history.py",
        [*args, "--trades", str(sizes["trades"]), "--markets", str(sizes["markets"])],
    )


def table(runs: list[tuple[str, dict]]) -> str:
    """Each pull's seconds (the models' in parentheses), one column per run."""
    rows = [f"{'':8s}" + "".join(f"{label:>18s}" for label, _ in runs)]
    for pull in bench_history.PULLS:
        rows.append(
            f"{pull:8s}"
            + "".join(f"{s[pull]['s']:>11.2f} ({s[pull]['phases']['models']:.2f})" for _, s in runs)
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="a git revision")
    p.add_argument("--after", help="a git revision (default: this working tree as it is)")
    p.add_argument("--work", required=True, help="the prepared lake and warehouses (made on the first run)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--days", type=int, default=365, help="rounded up to whole 30-day blocks")
    p.add_argument("--trades", type=int, default=300_000)
    p.add_argument("--markets", type=int, default=2_000)
    args = p.parse_args(argv)
    work = Path(args.work)
    sizes = {"days": args.days, "trades": args.trades, "markets": args.markets}
    _lake(work, sizes)
    # a prepared warehouse is kept per commit (the working tree's is built afresh on each invocation: it may change)
    names = {
        label: _commit(rev) if rev else "worktree"
        for label, rev in (("before", args.before), ("after", args.after))
    }
    runs: list[tuple[str, dict]] = []
    try:
        with revision_trees({"before": args.before, "after": args.after}) as trees:
            for n in range(1, args.rounds + 1):
                for label, tree in trees.items():
                    name = names[label]
                    if name == "worktree" and n == 1:
                        (work / "saved" / f"{name}.duckdb").unlink(missing_ok=True)
                    summary = _run(tree, work, name, sizes)
                    runs.append((f"{label} {n}", summary))
                    print(
                        f"{label} {n}: "
                        + ", ".join(f"{pull} {summary[pull]['s']:.2f}" for pull in bench_history.PULLS),
                        file=sys.stderr,
                        flush=True,
                    )
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(table(runs), file=sys.stderr)
    print(json.dumps([{"run": label, **s} for label, s in runs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
