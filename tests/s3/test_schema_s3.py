"""An S3 lake (moto's server) opened for writing rewrites a file of an earlier decimal width, exactly, and caches
what it checked on S3: the next open reads no footer."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from kalshi_extract.lake.store import Lake
from tests.lake.test_schema_check import WANT, _old_width_lake


def test_an_old_width_file_on_s3_is_rewritten_when_the_stream_is_opened_for_writing(s3_lake_dir, monkeypatch):
    lake = _old_width_lake(f"{s3_lake_dir}/lake")
    assert len(lake.schema_drift(["markets"])) == 1
    with Lake(lake.uri).lock("markets"):
        pass
    assert lake.schema_drift() == []
    tables = [
        pq.read_table(f, filesystem=lake.fs) for f in lake.files("markets")
    ]  # file by file, as engines do
    assert {t.schema.field("floor_strike").type for t in tables} == {pa.decimal128(38, 12)}
    both = pa.concat_tables(tables)
    assert dict(zip(*(both.column(c).to_pylist() for c in ("ticker", "floor_strike")), strict=True)) == WANT

    reads: list[str] = []
    real_open = Lake.open_parquet
    monkeypatch.setattr(Lake, "open_parquet", lambda self, p: reads.append(p) or real_open(self, p))
    with Lake(lake.uri).lock("markets"):
        pass
    assert reads == [] and lake._exists(lake._join("_schemas", "markets.json"))
