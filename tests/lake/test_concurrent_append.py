"""Several processes appending to one stream of one lake (the order journal of parallel traders): every row
lands once and no append fails (issue #17, item 4)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from kalshi_extract.lake.store import Lake

WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    import pyarrow as pa
    from kalshi_extract.lake.store import Lake
    from kalshi_extract.lake.schemas import TS

    root, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lake = Lake(root)
    for i in range(n):
        t = pa.table({"ts": pa.array([datetime.now(UTC)], TS), "event_id": [f"{who}-{i}"]})
        lake.append("order_events", t, f"run-{who}")
    """
)


def test_parallel_appends_land_every_row_once(tmp_path):
    root = str(tmp_path / "lake")
    procs, per = 6, 12
    running = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, root, str(p), str(per)], stderr=subprocess.PIPE, text=True
        )
        for p in range(procs)
    ]
    errors = [(p.wait(timeout=300), p.stderr.read()) for p in running]
    assert all(code == 0 for code, _ in errors), [e for code, e in errors if code][:1]
    ids = Lake(root).read("order_events", columns=["event_id"]).column("event_id").to_pylist()
    assert sorted(ids) == sorted(f"{p}-{i}" for p in range(procs) for i in range(per))
    assert not list((tmp_path / "lake" / "_commits").glob("*.json"))
