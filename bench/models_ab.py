"""The SQL models' bench for two revisions, back to back on one kept lake: before / after / before / after.

    uv run python bench/models_ab.py --before ad7bdd2 --keep /tmp/lake10m            # 10M trades, 2 rounds
    uv run python bench/models_ab.py --before HEAD~3 --after HEAD --keep /tmp/l --trades 1000000 --rounds 3

The machine's speed drifts by a quarter within an hour, so revisions are compared only inside one such run. Each
revision other than the working tree is checked out as a detached `git worktree` in a temp dir (removed at the
end); this checkout's `bench/bench_models.py` runs for each revision (one lake generator and one top-up for all) with
`PYTHONPATH` set to the revision's tree, so the child imports that tree's `kalshi_lake` and `sql/` (not the installed
one), on the same lake (`--keep DIR --reuse`: generated once, restored
to its generated state before each run; a lock file in DIR keeps two runs off it). Prints one line per run and a
table of the key figures (seconds; `+ c` = the checks of that build) on stderr, and every run's JSON summary as one
JSON list on the last stdout line. Exits 1 when a run fails.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIGURES = (
    ("full", "full_build_s", "tests_s"),
    ("top-up", "top_up_incremental_s", "top_up_checks_s"),
    ("next", "next_top_up_incremental_s", None),
    ("noon", "noon_top_up_incremental_s", None),
)


def _tree(rev: str | None, parent: Path) -> Path:
    """The working tree for `rev` (None: this checkout as it is)."""
    if rev is None:
        return REPO
    path = parent / rev.replace("/", "_").replace("~", "-")
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev],
        check=True,
        capture_output=True,
    )
    return path


@contextmanager
def revision_trees(revs: dict[str, str | None]) -> Iterator[dict[str, Path]]:
    """A working tree per label (`_tree`: None is this checkout), the worktrees removed on exit."""
    trees: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ab-") as tmp:
        try:
            for label, rev in revs.items():
                trees[label] = _tree(rev, Path(tmp))
            yield trees
        finally:
            for tree in trees.values():
                if tree != REPO:
                    subprocess.run(
                        ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                        capture_output=True,
                    )


def run_in_tree(tree: Path, script: str, args: list[str]) -> dict:
    """This checkout's `bench/<script>` run with `tree`'s package (PYTHONPATH, working directory); its JSON summary
    (the last stdout line)."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), *args],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise RuntimeError(f"{script} from {tree} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(lines[-1])


def _checks(summary: dict, key: str | None, phases: str) -> float:
    return summary[key] if key else summary[phases]["checks"]


def table(runs: list[tuple[str, dict]]) -> str:
    """The key figures of each run, one column per run."""
    head = f"{'':10s}" + "".join(f"{label:>16s}" for label, _ in runs)
    rows = [head]
    for name, key, checks in FIGURES:
        phases = key.replace("_incremental_s", "_phases")
        cells = "".join(
            f"{s[key]:>8.2f} + {_checks(s, checks, phases):<5.2f}" if key in s else f"{'-':>16s}"
            for _, s in runs
        )
        rows.append(f"{name:10s}{cells}")
    # the same run's floor of the full build: every table it wrote, copied (bench_models.write_floor)
    rows.append(
        f"{'floor':10s}"
        + "".join(
            f"{s['full_write_floor_s']['all_tables']:>16.2f}" if "full_write_floor_s" in s else f"{'-':>16s}"
            for _, s in runs
        )
    )
    rows.append(f"{'peak MB':10s}" + "".join(f"{s.get('peak_rss_mb', '-'):>16}" for _, s in runs))
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--before", required=True, help="a git revision")
    p.add_argument("--after", help="a git revision (default: this working tree as it is)")
    p.add_argument("--keep", required=True, help="the kept lake (generated on the first run)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--trades", type=int, default=10_000_000)
    p.add_argument("--fills", type=int, default=100_000)
    p.add_argument("--markets", type=int, default=2_000)
    args = p.parse_args(argv)
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    sizes = ["--trades", str(args.trades), "--fills", str(args.fills), "--markets", str(args.markets)]
    keep = Path(args.keep).resolve()
    keep.mkdir(parents=True, exist_ok=True)
    runs: list[tuple[str, dict]] = []
    with open(keep / ".ab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with revision_trees({"before": args.before, "after": args.after}) as trees:
                for i in range(1, args.rounds + 1):
                    for side, tree in trees.items():
                        summary = run_in_tree(
                            tree, "bench_models.py", ["--keep", str(keep), "--reuse", *sizes]
                        )
                        runs.append((f"{side} {i}", summary))
                        print(
                            f"{side} {i}: full {summary['full_build_s']} s, top-up "
                            f"{summary['top_up_incremental_s']} s ({summary.get('code', tree)})",
                            file=sys.stderr,
                        )
        except RuntimeError as exc:
            print(exc, file=sys.stderr)
            return 1
    print(table(runs), file=sys.stderr)
    print(json.dumps([{"run": label, **s} for label, s in runs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
