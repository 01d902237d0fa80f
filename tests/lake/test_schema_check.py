"""Every data file in its stream's current schema (issue 19, item 6): opening a stream for writing rewrites files of
an earlier decimal width exactly (so DuckDB, polars and pyarrow read 96500.123456789012 exactly), reads only the
footers it has not checked before, refuses with one line a file it cannot convert, and `status` reports drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kalshi_extract.errors import LakeStateError
from kalshi_extract.lake.convert import Converter
from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema
from kalshi_extract.lake.store import Lake
from tests.lake.test_lake import trades

T0 = datetime(2026, 6, 1, tzinfo=UTC)
WANT = {"NEW": Decimal("96500.123456789012"), "OLD": Decimal("96400.12345678")}


def _markets(strike: str, ticker: str) -> pa.RecordBatch:
    item = {"ticker": ticker, "event_ticker": "E", "status": "open", "floor_strike": Decimal(strike)}
    conv = Converter("markets", STREAM_COLUMNS["markets"], arrow_schema("markets"), run_id="r", loaded_at=T0)
    return conv.convert([item])


def _with_type(schema: pa.Schema, column: str, type_: pa.DataType) -> pa.Schema:
    return schema.set(schema.get_field_index(column), pa.field(column, type_))


def _commit(lake: Lake, stream: str, batch, schema: pa.Schema | None = None) -> None:
    w = lake.writer(stream, f"r-{datetime.now(UTC):%H%M%S%f}", schema=schema)
    w.write(batch)
    lake.commit(stream, w.finish())


def _old_width_lake(root: str) -> Lake:
    """A lake of today's markets file beside one written by a version whose strikes were decimal128(24, 8)."""
    lake = Lake(root)
    old = _with_type(arrow_schema("markets"), "floor_strike", pa.decimal128(24, 8))
    _commit(lake, "markets", _markets("96400.12345678", "OLD").cast(old), schema=old)  # first in file order
    _commit(lake, "markets", _markets("96500.123456789012", "NEW"))
    return lake


def _engines_read(lake: Lake) -> dict[str, dict]:
    import duckdb
    import polars as pl

    files = lake.files("markets")
    by_pyarrow = pa.concat_tables(pq.read_table(f) for f in files)
    glob = f"{lake.stream_path('markets')}/*/*.parquet"
    return {
        "pyarrow": dict(
            zip(*(by_pyarrow.column(c).to_pylist() for c in ("ticker", "floor_strike")), strict=True)
        ),
        "polars": dict(pl.read_parquet(files).select("ticker", "floor_strike").rows()),
        # DuckDB's plain read_parquet takes the first file's type: (24, 8) rounded the new strike before
        "duckdb": dict(duckdb.sql(f"select ticker, floor_strike from read_parquet('{glob}')").fetchall()),
    }


def test_opening_a_stream_for_writing_rewrites_an_old_width_file_so_every_engine_reads_exact_values(tmp_path):
    lake = _old_width_lake(str(tmp_path / "lake"))
    drift = lake.schema_drift(["markets"])
    assert [d.columns for d in drift] == [(("floor_strike", "decimal128(24, 8)", "decimal128(38, 12)"),)]
    import duckdb

    glob = f"{lake.stream_path('markets')}/*/*.parquet"
    rounded = dict(duckdb.sql(f"select ticker, floor_strike from read_parquet('{glob}')").fetchall())
    assert rounded["NEW"] == Decimal("96500.12345679")  # the bug: the first file's width, silently rounded

    with Lake(lake.uri).lock("markets"):  # the lake opened for writing (a pull takes this lock first)
        pass

    assert lake.schema_drift() == []
    assert {pq.read_schema(f).field("floor_strike").type for f in lake.files("markets")} == {
        pa.decimal128(38, 12)
    }
    assert _engines_read(lake) == {"pyarrow": WANT, "polars": WANT, "duckdb": WANT}
    assert sorted(r["ticker"] for r in lake.read("markets").to_pylist()) == ["NEW", "OLD"]  # each row once


def test_a_migration_cut_short_is_finished_by_the_next_open_each_row_once(tmp_path, monkeypatch):
    lake = _old_width_lake(str(tmp_path / "lake"))

    def die_after_moves(self, record):  # the new file visible, the old one not deleted yet: then killed
        for src, dst in record.get("moves", []):
            self._move(src, dst)
        raise KeyboardInterrupt

    real_apply = Lake._apply
    monkeypatch.setattr(Lake, "_apply", die_after_moves)
    with pytest.raises(KeyboardInterrupt):
        with Lake(lake.uri).lock("markets"):
            pass
    monkeypatch.setattr(Lake, "_apply", real_apply)
    with Lake(lake.uri).lock("markets"):  # rolls the commit forward: the old file goes
        pass
    assert lake.schema_drift() == []
    assert sorted(r["ticker"] for r in lake.read("markets").to_pylist()) == ["NEW", "OLD"]
    assert _engines_read(lake)["duckdb"] == WANT


def test_only_footers_not_checked_before_are_read(tmp_path, monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    for k in range(5):
        _commit(lake, "trades", trades(3, start=10 * k))
    reads: list[str] = []
    real_open = Lake.open_parquet

    def counting(self, path):
        reads.append(path)
        return real_open(self, path)

    monkeypatch.setattr(Lake, "open_parquet", counting)
    with lake.lock("trades"):
        pass
    assert len(reads) == 5  # the first open reads every footer once
    reads.clear()
    with Lake(lake.uri).lock("trades"):
        pass
    assert reads == []  # then none
    _commit(lake, "trades", trades(3, start=100))
    with Lake(lake.uri).lock("trades"):
        pass
    assert len(reads) == 1  # only the new file's
    cache = json.loads((tmp_path / "lake" / "_schemas" / "trades.json").read_text())
    assert len(cache["files"]) == 6 and all("/" in k and not k.startswith("/") for k in cache["files"])


def test_a_column_added_since_a_file_was_written_is_not_drift(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    batch = trades(3)
    older = batch.drop_columns(["is_block_trade"])  # a file written before the column existed
    _commit(lake, "trades", older, schema=older.schema)
    before = lake.files("trades")
    with lake.lock("trades"):
        pass
    assert lake.files("trades") == before  # left as it is: the contract reads the lake with union_by_name


def test_a_file_that_cannot_be_converted_exactly_is_refused_with_one_line_naming_it(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    _commit(lake, "trades", trades(3))
    wider = _with_type(arrow_schema("trades"), "yes_price_dollars", pa.decimal128(20, 8))
    batch = pa.Table.from_batches([trades(2, start=50)]).cast(wider)
    price = pa.array([Decimal("0.12345678"), Decimal("0.5")], pa.decimal128(20, 8))
    batch = batch.set_column(batch.schema.get_field_index("yes_price_dollars"), "yes_price_dollars", price)
    _commit(lake, "trades", batch, schema=wider)  # as a newer version with 8-dp prices would
    files, rows = lake.files("trades"), lake.scan("trades", ["trade_id"]).num_rows
    with pytest.raises(LakeStateError) as err:
        with Lake(lake.uri).lock("trades"):
            pytest.fail("the writer got the lake")
    msg = str(err.value)
    bad = [f for f in files if pq.read_schema(f).field("yes_price_dollars").type == pa.decimal128(20, 8)]
    assert "\n" not in msg and bad[0] in msg and "yes_price_dollars decimal128(20, 8)" in msg
    assert "pip install -U kalshi-lake" in msg and "kalshi-lake compact trades" in msg
    assert (
        lake.files("trades") == files and lake.scan("trades", ["trade_id"]).num_rows == rows
    )  # nothing changed


def test_status_names_files_of_an_earlier_schema_and_the_command(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from kalshi_lake.cli import app

    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("KALSHI_CONFIG", raising=False)
    lake = _old_width_lake(str(tmp_path / "data" / "lake"))
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    line = [
        ln for ln in result.output.splitlines() if ln.startswith("markets: 1 file(s) of an earlier schema")
    ]
    assert line and "floor_strike decimal128(24, 8) (now decimal128(38, 12))" in line[0]
    assert "kalshi-lake compact markets" in line[0]
    report = json.loads(CliRunner().invoke(app, ["status", "--json"]).output)
    assert [d["stream"] for d in report["schema_drift"]] == ["markets"]
    assert lake.schema_drift() != []  # status only reports: it changes nothing
    assert CliRunner().invoke(app, ["compact", "markets"]).exit_code == 0
    after = CliRunner().invoke(app, ["status"])
    assert (
        "earlier schema" not in after.output
        and json.loads(CliRunner().invoke(app, ["status", "--json"]).output)["schema_drift"] == []
    )


def test_status_finds_the_drift_from_the_footers_it_reads_anyway_each_once(tmp_path, monkeypatch):
    """`status` reports what `Lake.schema_drift` finds (issue #20: it used to read every footer a second time for
    it, in a thread pool, when the stream had no schema cache: the pulled streams never write one)."""
    from kalshi_extract.ingest.status import lake_status
    from kalshi_extract.settings import Settings

    lake = _old_width_lake(str(tmp_path / "data" / "lake"))
    _commit(lake, "trades", trades(3))
    settings = Settings.load(environ={"KALSHI_LAKE_DIR": str(tmp_path / "data")}, config_path=None)
    assert settings.lake_root == lake.root
    want = [
        {"stream": d.stream, "file": d.path, "columns": [list(c) for c in d.columns]}
        for d in lake.schema_drift()
    ]
    assert [d["stream"] for d in want] == ["markets"]
    opened: list[str] = []
    real = pq.ParquetFile

    class Counting(real):
        def __init__(self, source, *args, **kwargs):
            opened.append(getattr(source, "path", source))
            super().__init__(source, *args, **kwargs)

    monkeypatch.setattr(pq, "ParquetFile", Counting)
    report = lake_status(settings, schema_drift=True)
    assert report["schema_drift"] == want
    data_files = lake.files("markets") + lake.files("trades")
    assert len(opened) == len(data_files) + len(lake.files("_runs"))  # each footer once (the run log: read)
    assert "schema_drift" not in lake_status(settings)  # only when asked
