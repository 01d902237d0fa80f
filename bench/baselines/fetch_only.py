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
from bench.baselines._walk import walk_pages
from bench.common import cpu_seconds, emit_summary

_CURSOR = re.compile(rb'"cursor"\s*:\s*"([^"]*)"')


def main() -> None:
    args = parse(__doc__.splitlines()[0])
    startup_cpu_s = cpu_seconds()  # interpreter + imports, before the first request
    session = requests.Session()
    rows = 0

    def read_page(response: requests.Response) -> str:
        nonlocal rows
        body = response.content
        rows += body.count(b'"trade_id"')
        m = _CURSOR.search(body)
        return m.group(1).decode() if m else ""

    t0 = time.perf_counter()
    pages, throttled = walk_pages(session, args, read_page)
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
