"""Each lake file's columns are read once and remembered (`file_schemas.py`): a later build reads the footers of its
new files only, a stream whose files all have the same columns is read without `union_by_name`, and one whose files
differ (a field added) still reads every column."""

from __future__ import annotations

import os

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kalshi_lake import warehouse
from tests.sql.lakegen import trade, write_stream

TK = "KXSCHEMA-26NOV-M0"


def _view_sql(con, view: str) -> str:
    return con.execute("select sql from duckdb_views() where view_name = ?", [view]).fetchone()[0]


class _Recording:
    """A connection that records the statements run through it."""

    def __init__(self, con):
        self._con, self.statements = con, []

    def execute(self, sql, *args):
        self.statements.append(sql)
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_a_later_build_reads_the_footers_of_new_files_only(tmp_path):
    root = tmp_path / "lake"
    old = write_stream(root, "trades", [trade("a", TK, 0, "0.40"), trade("b", TK, 60 * 24, "0.42")])
    db = str(tmp_path / "w.duckdb")
    assert warehouse.build(root.parent, db_path=db, run_tests=False).ok
    con = warehouse.connect(db, read_only=True)
    known = con.execute("select file, schema from _kalshi_file_schemas where stream = 'trades'").fetchall()
    con.close()
    assert sorted(f for f, _ in known) == sorted(map(str, old))
    assert '["trade_id", "VARCHAR"]' in known[0][1]

    [new] = write_stream(root, "trades", [trade("c", TK, 60 * 24 + 30, "0.44")], run_id="r2")
    con = _Recording(warehouse._connect(db))
    result = warehouse.build_on(con, str(root), run_tests_=True)
    assert result.ok, str(result)
    # no statement read an old file's footer on its own or the stream's files with union_by_name
    assert not [s for s in con.statements if any(str(f) in s for f in old) and "union_by_name = true" in s]
    assert [s for s in con.statements if s.startswith("describe") and str(new) in s]
    assert "union_by_name = false" in _view_sql(con, "src_trades")
    assert con.execute("select count(*) from _kalshi_file_schemas where stream = 'trades'").fetchone() == (3,)
    assert con.execute("select list(trade_id order by trade_id) from stg_trades").fetchone() == (
        ["a", "b", "c"],
    )
    # after the build the view reads the lake's glob: a file a pull adds later is seen, by name
    write_stream(root, "trades", [trade("d", TK, 60 * 24 + 40, "0.45")], run_id="r3")
    assert con.execute("select count(*) from src_trades").fetchone() == (4,)
    con.close()


def test_files_with_different_columns_are_read_by_name_and_every_column_kept(tmp_path):
    root = tmp_path / "lake"
    write_stream(root, "trades", [trade("a", TK, 0, "0.40")])
    db = str(tmp_path / "w.duckdb")
    assert warehouse.build(root.parent, db_path=db, run_tests=False).ok
    # a field the API added: a later file has a column the older one lacks
    write_stream(
        root,
        "trades",
        [trade("b", TK, 30, "0.41") | {"brand_new_field": "hello"}],
        run_id="r2",
        extra_columns={"brand_new_field": pa.string()},
    )
    assert warehouse.build(root.parent, db_path=db, run_tests=True).ok
    con = warehouse.connect(db, read_only=True)
    assert "union_by_name = true" in _view_sql(con, "src_trades")
    assert con.execute("select trade_id, brand_new_field from stg_trades order by trade_id").fetchall() == [
        ("a", None),
        ("b", "hello"),
    ]
    con.close()


def test_a_file_rewritten_under_its_name_is_read_again(tmp_path):
    """Lake files are never rewritten, but a file whose size or mtime differs from what was remembered is not
    trusted to have the same columns."""
    root = tmp_path / "lake"
    [path] = write_stream(root, "trades", [trade("a", TK, 0, "0.40")])
    db = str(tmp_path / "w.duckdb")
    assert warehouse.build(root.parent, db_path=db, run_tests=False).ok
    table = pq.read_table(path)
    table = table.append_column("brand_new_field", pa.array(["rewritten"], pa.string()))
    pq.write_table(table, path)
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 1_000_000_000))
    assert warehouse.build(root.parent, db_path=db, run_tests=False).ok
    con = warehouse.connect(db, read_only=True)
    assert con.execute("select brand_new_field from stg_trades").fetchall() == [("rewritten",)]
    assert "brand_new_field" in con.execute("select schema from _kalshi_file_schemas").fetchone()[0]
    con.close()


def test_a_remembered_schema_is_used_only_for_the_same_file_size_and_mtime(tmp_path):
    """A remembered entry that would make the stream look uniform (the older file without the new field) but names
    another size of the file is ignored: the file's footer is read, the stream is read by name, the field kept."""
    root = tmp_path / "lake"
    [with_field] = write_stream(
        root,
        "trades",
        [trade("a", TK, 0, "0.40") | {"brand_new_field": "hello"}],
        extra_columns={"brand_new_field": pa.string()},
    )
    [plain] = write_stream(root, "trades", [trade("b", TK, 5, "0.41")], run_id="r2")
    db = str(tmp_path / "w.duckdb")
    assert warehouse.build(root.parent, db_path=db, run_tests=False).ok
    con = duckdb.connect(db)
    con.execute(
        "update _kalshi_file_schemas set size = size + 1, "
        "schema = (select schema from _kalshi_file_schemas where file = ?) where file = ?",
        [str(plain), str(with_field)],
    )
    con.close()
    assert warehouse.build(root.parent, db_path=db, run_tests=True).ok
    con = warehouse.connect(db, read_only=True)
    assert "union_by_name = true" in _view_sql(con, "src_trades")
    assert con.execute("select trade_id, brand_new_field from stg_trades order by trade_id").fetchall() == [
        ("a", "hello"),
        ("b", None),
    ]
    con.close()
