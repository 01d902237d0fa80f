"""Children of the S3 tests: ``pull`` (one pull into the lake at ``KALSHI_LAKE_DIR``) and ``hold`` (take a stream's
writer lock, say so, and sleep until killed).

usage: python -m tests.s3.child pull <env json> <streams comma list> <lock timeout s> [small]
       python -m tests.s3.child hold <lake root> <stream>
"""

from __future__ import annotations

import json
import sys
import time


def pull_main(env: dict, streams: list[str], lock_timeout: float, small: bool) -> None:
    import kalshi_extract.ingest.rule_base as rules
    import kalshi_extract.lake.writer as lake_mod
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.ingest.pull import Selection, pull
    from kalshi_extract.lake.store import Lake
    from kalshi_extract.settings import Settings

    if small:  # many small commits, so a kill lands between them
        rules.PAGE_LIMIT = 200
        rules.CHECKPOINT_PAGES = 3
        lake_mod.DEFAULT_FILE_ROWS = 300
        lake_mod.DEFAULT_ROW_GROUP_ROWS = 100
    settings = Settings.load(environ=env)
    t0 = time.monotonic()
    with KalshiClient(settings) as client:
        result = pull(client, Lake.from_settings(settings), streams, Selection(), lock_timeout=lock_timeout)
    out = {s.stream: [s.outcome, s.rows, s.error] for s in result.streams}
    out["_seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(out), flush=True)
    sys.exit(0 if result.ok else 1)


def hold_main(root: str, stream: str) -> None:
    from kalshi_extract.lake.store import Lake

    lake = Lake(root)
    with lake.lock(stream, timeout=30):
        print("held", flush=True)
        time.sleep(3600)


if __name__ == "__main__":
    if sys.argv[1] == "pull":
        pull_main(
            json.loads(sys.argv[2]), sys.argv[3].split(","), float(sys.argv[4]), sys.argv[5:] == ["small"]
        )
    else:
        hold_main(sys.argv[2], sys.argv[3])
