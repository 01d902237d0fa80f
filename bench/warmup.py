"""Import everything the contenders import, once, unmeasured, so their bytecode is cached (warm start).

Run by the harness before any measurement (``bench.bench_pull.warm_up``) with the children's environment
(``bench.common.child_env``: bytecode cache under ``bench/_work/pycache``).
"""

from __future__ import annotations

import importlib

MODULES = (
    "requests",
    "orjson",
    "pyarrow",
    "pyarrow.parquet",
    "pyarrow.dataset",
    "pyarrow.compute",
    "pandas",
    "dlt",
    "dlt.sources.rest_api",
    "dlt.destinations",
    "kalshi_extract.api.client",
    "kalshi_extract.lake.store",
    "kalshi_extract.ingest.pull",
    "kalshi_extract.settings",
    "bench.lake_child",
    "bench.baselines.fetch_only",
    "bench.baselines.seed_style",
    "bench.baselines.dlt_rest_api",
)


def main() -> None:
    missing = []
    for name in MODULES:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # a baseline's package not installed: that contender will report it itself
            missing.append(f"{name}: {exc}")
    print("\n".join(missing))


if __name__ == "__main__":
    main()
