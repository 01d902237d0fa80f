"""dlt pipeline: a ``rest_api`` source with a JSON cursor paginator into a Parquet ``filesystem`` destination.

This is the data-engineering standard a user would reach for. Configuration is dlt's documented declarative
shape with defaults everywhere else (append disposition, normalize/load workers as shipped). The pipeline's
working directory and the destination both live under ``--out`` so nothing is written to ``~/.dlt``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from bench.baselines._args import parse
from bench.common import cpu_seconds, emit_summary


def main() -> None:
    args = parse(__doc__.splitlines()[0])
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    t0 = time.perf_counter()
    import dlt
    from dlt.sources.rest_api import rest_api_source

    startup_cpu_s = cpu_seconds()  # interpreter + imports, before the first request

    resources = []
    for i, path in enumerate(args.path):
        resources.append(
            {
                "name": f"trades_{i}",
                "table_name": "trades",
                "endpoint": {
                    "path": path.lstrip("/"),
                    "params": {"limit": args.limit},
                    "data_selector": "trades",
                    "paginator": {"type": "cursor", "cursor_path": "cursor", "cursor_param": "cursor"},
                },
            }
        )
    source = rest_api_source(
        {
            "client": {"base_url": args.base_url.rstrip("/") + "/"},
            "resource_defaults": {"write_disposition": "append"},
            "resources": resources,
        }
    )
    pipeline = dlt.pipeline(
        pipeline_name="bench_trades",
        pipelines_dir=str(out / "_pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=(out / "dest").as_uri()),
        dataset_name="kalshi",
    )
    info = pipeline.run(source, loader_file_format="parquet")
    info.raise_on_failed_jobs()
    trace = pipeline.last_trace
    rows = 0
    if trace and trace.last_normalize_info:
        rows = trace.last_normalize_info.row_counts.get("trades", 0)
    emit_summary(
        contender="dlt",
        rows=rows,
        pages=None,
        requests=None,
        throttled=None,
        seconds=time.perf_counter() - t0,
        startup_cpu_s=startup_cpu_s,
        output=str(out / "dest" / "kalshi" / "trades"),
    )


if __name__ == "__main__":
    main()
