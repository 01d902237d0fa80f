"""Column types are declared once, in the lake's Arrow schemas; `sql/sources.toml` is generated from them."""

from __future__ import annotations

import pyarrow as pa
import pytest

from kalshi_extract.lake.schemas import STREAM_COLUMNS
from kalshi_lake import warehouse
from kalshi_lake.warehouse.gen_sources import duckdb_type, main, render_sources
from kalshi_lake.warehouse.runner import discover
from kalshi_lake.warehouse.sources import load_sources


def test_committed_sources_toml_is_the_one_generated_from_the_arrow_schemas():
    committed = (warehouse.SQL_DIR / "sources.toml").read_text(encoding="utf-8")
    assert committed == render_sources(), (
        "sql/sources.toml disagrees with the Arrow schemas: run `uv run python -m kalshi_lake.warehouse.gen_sources`"
    )


def test_every_stream_is_declared_with_its_metadata_columns_and_has_a_staging_model():
    sources = {s.stream: s.columns for s in load_sources(warehouse.SQL_DIR / "sources.toml")}
    assert set(sources) == {*STREAM_COLUMNS, "order_events"}
    models = {m.name for m in discover(warehouse.SQL_DIR)}
    for stream, cols in sources.items():
        assert f"stg_{stream}" in models
        assert {
            "_loaded_at": "timestamptz",
            "_run_id": "varchar",
            "_extra": "varchar",
        }.items() <= cols.items()
    assert sources["fills"]["_account"] == "varchar" and "_account" not in sources["trades"]
    assert sources["order_events"]["http_status"] == "integer"
    assert sources["markets"]["yes_bid_dollars"] == "decimal(18,6)"
    assert sources["trades"]["count_fp"] == "decimal(18,2)"
    assert sources["settlements"]["revenue"] == "bigint"


def test_arrow_types_map_to_duckdb_and_unknown_ones_are_refused(tmp_path):
    assert duckdb_type(pa.decimal128(38, 12)) == "decimal(38,12)"
    assert duckdb_type(pa.timestamp("us", tz="UTC")) == "timestamptz"
    with pytest.raises(ValueError, match="no DuckDB type"):
        duckdb_type(pa.timestamp("us"))  # a naive timestamp is not a lake type
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / "sources.toml").read_text(encoding="utf-8") == render_sources()
