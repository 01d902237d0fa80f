"""A pull in a child process, for faults the test process cannot suffer itself (issue 17, item 6).

usage: python -m tests.lake.crash_child <env json> <mode>

- ``diskfull``: pull trades into a lake on a tiny filesystem (the parent mounts it), then print what is on disk.
- ``kill-at-runlog``: pull trades and SIGKILL this process inside the run-log row's commit, right after its
  commit record is written (the rows and state of the stream are committed by then).

Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import signal
import sys


def leftovers(root: str) -> list[str]:
    out = []
    for folder in ("_tmp", "_commits", "_state"):
        path = os.path.join(root, folder)
        if os.path.isdir(path):
            out += [
                f"{folder}/{name}" for name in os.listdir(path) if name.startswith(".") or folder != "_state"
            ]
    return sorted(out)


def main() -> None:
    env = json.loads(sys.argv[1])
    mode = sys.argv[2]
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.ingest.pull import Selection, pull_stream
    from kalshi_extract.lake.run_log import RUNS_STREAM, read_runs
    from kalshi_extract.lake.store import Lake
    from kalshi_extract.settings import Settings

    settings = Settings.load(environ=env)
    lake = Lake.from_settings(settings)
    if mode == "kill-at-runlog":
        apply = Lake._apply

        def apply_or_die(self, record):
            if record.get("stream") == RUNS_STREAM:
                os.kill(os.getpid(), signal.SIGKILL)
            return apply(self, record)

        Lake._apply = apply_or_die
    with KalshiClient(settings) as client:
        result = pull_stream(client, lake, "trades", Selection())
    on_disk = lake.read("trades").num_rows if lake.files("trades") else 0
    runs = [{"outcome": r["outcome"], "rows": r["rows"], "error": r["error"]} for r in read_runs(lake)]
    print(
        json.dumps(
            {
                "outcome": result.outcome,
                "rows": result.rows,
                "error": result.error,
                "on_disk": on_disk,
                "runs": runs,
                "leftovers": leftovers(lake.root),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
