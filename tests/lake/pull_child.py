"""Run one pull in a child process (the kill-at-random-moments test SIGKILLs it).

usage: python -m tests.lake.pull_child <env json> <streams comma list> [small]
``small`` makes pages of 200 rows, files of 300 rows and a cursor checkpoint every 3 pages, so a kill lands
between many commits and re-runs resume from saved cursors.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    env = json.loads(sys.argv[1])
    streams = sys.argv[2].split(",")
    import kalshi_extract.ingest.rule_base as rules
    import kalshi_extract.lake.writer as lake_mod
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.ingest.pull import Selection, pull
    from kalshi_extract.lake.store import Lake
    from kalshi_extract.settings import Settings

    if len(sys.argv) > 3 and sys.argv[3] == "small":
        rules.PAGE_LIMIT = 200
        rules.CHECKPOINT_PAGES = 3
        lake_mod.DEFAULT_FILE_ROWS = 300
        lake_mod.DEFAULT_ROW_GROUP_ROWS = 100
    settings = Settings.load(environ=env)
    with KalshiClient(settings) as client:
        result = pull(client, Lake.from_settings(settings), streams, Selection(), lock_timeout=30)
    print(json.dumps({s.stream: [s.outcome, s.rows, s.error] for s in result.streams}), flush=True)
    sys.exit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
