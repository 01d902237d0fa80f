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
from bench.baselines._walk import walk_pages
from bench.common import cpu_seconds, emit_summary


def main() -> None:
    args = parse(__doc__.splitlines()[0])
    startup_cpu_s = cpu_seconds()  # interpreter + imports, before the first request
    session = requests.Session()
    rows: list[dict] = []

    def read_page(response: requests.Response) -> str | None:
        data = response.json()
        for trade in data["trades"]:
            rows.append(trade)
        return data.get("cursor")

    t0 = time.perf_counter()
    pages, throttled = walk_pages(session, args, read_page)
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
