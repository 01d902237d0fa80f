"""Columns whose values are (nearly) all distinct (``PLAIN_COLUMNS``: ids and event times) are written without a
dictionary, every other column with one; the rows read back the same either way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from kalshi_extract.lake.schemas import PLAIN_COLUMNS, arrow_schema
from kalshi_extract.lake.store import Lake


def _trades(n: int) -> pa.Table:
    t0 = datetime(2026, 12, 3, tzinfo=UTC)
    rows = [
        {
            "trade_id": f"00000000-0000-0000-0000-{i:012d}",
            "ticker": f"KX-{i % 3}",
            "count_fp": Decimal("1.00"),
            "yes_price_dollars": Decimal("0.4200"),
            "no_price_dollars": Decimal("0.5800"),
            "taker_outcome_side": "yes",
            "taker_book_side": "bid",
            "created_time": t0 + timedelta(microseconds=i),
            "is_block_trade": False,
            "taker_side": "yes",
            "_loaded_at": t0,
            "_run_id": "run-1",
            "_extra": None,
        }
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows, schema=arrow_schema("trades"))


def _has_dictionary(meta: pq.FileMetaData, name: str) -> bool:
    rg = meta.row_group(0)
    (chunk,) = [rg.column(i) for i in range(rg.num_columns) if rg.column(i).path_in_schema == name]
    return chunk.has_dictionary_page


def test_unique_columns_are_written_without_a_dictionary(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    table = _trades(500)
    w = lake.writer("trades", "run-1", arrow_schema("trades"), "created_time")
    w.write(table)
    ((tmp, _final),) = w.finish()
    meta = pq.read_metadata(tmp)
    for name in PLAIN_COLUMNS["trades"]:
        assert not _has_dictionary(meta, name), name
    for name in ("ticker", "count_fp", "yes_price_dollars", "taker_side", "_loaded_at", "_run_id"):
        assert _has_dictionary(meta, name), name
    assert pq.read_table(tmp).equals(table)


def test_a_stream_without_plain_columns_keeps_dictionaries(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    schema = pa.schema([("trade_id", pa.string()), ("day", pa.string())])
    w = lake.writer("other_stream", "run-1", schema, fixed_date="2026-12-03")
    w.write(pa.Table.from_pylist([{"trade_id": str(i), "day": "x"} for i in range(10)], schema=schema))
    ((tmp, _),) = w.finish()
    meta = pq.read_metadata(tmp)
    assert _has_dictionary(meta, "trade_id") and _has_dictionary(meta, "day")
