"""The writer's partition day: a batch whose rows all fall on one UTC day goes to that day's partition without a
per-row day array; any other batch (two days, a null time, a time before 1970) is split row by row as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kalshi_extract.lake.schemas import arrow_schema
from kalshi_extract.lake.store import Lake


def _batch(times: list[datetime | None], loaded: datetime) -> pa.Table:
    rows = [
        {
            "trade_id": f"t{i}",
            "ticker": "KX",
            "created_time": t,
            "is_block_trade": False,
            "_loaded_at": loaded,
            "_run_id": "run-1",
        }
        for i, t in enumerate(times)
    ]
    return pa.Table.from_pylist(rows, schema=arrow_schema("trades"))


def _landed(lake: Lake, tmp_path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in sorted((tmp_path / "lake" / "trades").rglob("*.parquet")):
        day = f.parent.name.removeprefix("date=")
        out.setdefault(day, []).extend(pq.read_table(f).column("trade_id").to_pylist())
    return {k: sorted(v) for k, v in out.items()}


D = datetime(2026, 12, 3, tzinfo=UTC)
LOADED = datetime(2026, 12, 4, 1, tzinfo=UTC)
CASES = {
    "one day, its first and last microsecond": (
        [D, D + timedelta(days=1, microseconds=-1)],
        {"2026-12-03": 2},
    ),
    "two days": ([D - timedelta(microseconds=1), D], {"2026-12-02": 1, "2026-12-03": 1}),
    "a null time lands on its load day": ([D, None], {"2026-12-03": 1, "2026-12-04": 1}),
    "before 1970": (
        [datetime(1969, 12, 31, 23, 59, tzinfo=UTC), datetime(1969, 12, 31, 0, 0, tzinfo=UTC)],
        {"1969-12-31": 2},
    ),
    "1969 and 1970": (
        [datetime(1969, 12, 31, 23, 59, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)],
        {"1969-12-31": 1, "1970-01-01": 1},
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_rows_land_in_the_partition_of_their_utc_day(tmp_path, name):
    times, want = CASES[name]
    lake = Lake(str(tmp_path / "lake"))
    w = lake.writer("trades", "run-1", date_column="created_time")
    w.write(_batch(times, LOADED))
    lake.commit("trades", w.finish())
    got = _landed(lake, tmp_path)
    assert {k: len(v) for k, v in got.items()} == want


def test_one_day_batches_take_the_single_day_path(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    w = lake.writer("trades", "run-1", date_column="created_time")
    calls = []
    w._days = lambda batch: calls.append(batch) or pytest.fail("one-day batch went through the per-row days")
    w.write(_batch([D, D + timedelta(hours=23)], LOADED))
    assert w._open.keys() == {"2026-12-03"}
    w.abort()
