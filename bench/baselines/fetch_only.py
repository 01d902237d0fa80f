"""Fetch-only floor: ``requests`` pages through the trades and throws every page away.

It finds the next cursor with a byte search instead of parsing the JSON, so this is the least CPU any Python HTTP
client can spend to walk the same pages: HTTP, the cursor, nothing else. Rows are counted (not parsed) so the
harness can check it saw the same number of trades.
"""

from __future__ import annotations

import re
import time

import requests

from bench.baselines._args import parse
from bench.common import cpu_seconds, emit_summary

_CURSOR = re.compile(rb'"cursor"\s*:\s*"([^"]*)"')


def main() -> None:
    args = parse(__doc__.splitlines()[0])
    startup_cpu_s = cpu_seconds()  # interpreter + imports, before the first request
    session = requests.Session()
    rows = pages = throttled = 0
    t0 = time.perf_counter()
    for path in args.path:
        url = args.base_url.rstrip("/") + path
        cursor = ""
        while True:
            params = {"limit": args.limit}
            if cursor:
                params["cursor"] = cursor
            r = session.get(url, params=params, timeout=60)
            if r.status_code == 429:
                throttled += 1
                time.sleep(0.5)
                continue
            r.raise_for_status()
            body = r.content
            pages += 1
            rows += body.count(b'"trade_id"')
            m = _CURSOR.search(body)
            cursor = m.group(1).decode() if m else ""
            if not cursor:
                break
    emit_summary(
        contender="fetch_only",
        rows=rows,
        pages=pages,
        requests=pages + throttled,
        throttled=throttled,
        seconds=time.perf_counter() - t0,
        startup_cpu_s=startup_cpu_s,
        output=None,
    )


if __name__ == "__main__":
    main()
