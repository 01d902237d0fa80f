"""Seed-style loop: what users hand-write today.

``requests`` + ``response.json()`` + append every trade dict to a list + one pandas DataFrame written to Parquet at
the end. Memory grows with the number of rows (every row lives as a Python dict until the end).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import requests

from bench.baselines._args import parse
from bench.common import cpu_seconds, emit_summary


def main() -> None:
    args = parse(__doc__.splitlines()[0])
    startup_cpu_s = cpu_seconds()  # interpreter + imports, before the first request
    session = requests.Session()
    rows: list[dict] = []
    pages = throttled = 0
    t0 = time.perf_counter()
    for path in args.path:
        url = args.base_url.rstrip("/") + path
        cursor = None
        while True:
            params = {"limit": args.limit}
            if cursor:
                params["cursor"] = cursor
            response = session.get(url, params=params, timeout=60)
            if response.status_code == 429:
                throttled += 1
                time.sleep(0.5)
                continue
            response.raise_for_status()
            data = response.json()
            pages += 1
            for trade in data["trades"]:
                rows.append(trade)
            cursor = data.get("cursor")
            if not cursor:
                break
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    df.to_parquet(out / "trades.parquet", index=False)
    emit_summary(
        contender="seed_style",
        rows=len(df),
        pages=pages,
        requests=pages + throttled,
        throttled=throttled,
        seconds=time.perf_counter() - t0,
        startup_cpu_s=startup_cpu_s,
        output=str(out / "trades.parquet"),
    )


if __name__ == "__main__":
    main()
