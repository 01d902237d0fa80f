"""The product on an S3 lake (moto's server on loopback, tests/s3/conftest.py): pull, build into a local warehouse
(KALSHI_WAREHOUSE), `sql` (the `src_` views read S3 on a new connection), `status`, the notebook helper, and the
scheduled refresh flow; a configuration error is not retried by the flows."""

from __future__ import annotations

import json
import os

import prefect  # noqa: F401  (imported here, not inside CliRunner: its root log handler keeps the real stderr)
import pytest
from typer.testing import CliRunner

from kalshi_lake.cli import app


@pytest.fixture
def s3_env(exchange, s3_lake_dir, tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    account = exchange.create_account(balance_cents=123_456)
    for key, value in account.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KALSHI_ACCOUNT", "s3test")
    monkeypatch.setenv("KALSHI_LAKE_DIR", s3_lake_dir)
    monkeypatch.setenv("KALSHI_WAREHOUSE", str(tmp_path / "wh" / "kalshi.duckdb"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "wh" / "kalshi.duckdb"


def _ok(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result


def _sql(query: str) -> list[dict]:
    return json.loads(_ok(["sql", query, "--format", "json"]).stdout)


@pytest.mark.slow
def test_pull_build_sql_status_notebook_and_flow_on_s3(s3_env, s3_lake_dir, monkeypatch):
    pulled = json.loads(_ok(["pull", "markets", "trades", "balance", "--json"]).stdout)
    rows = {s["stream"]: s for s in pulled["streams"]}
    assert all(s["outcome"] == "ok" for s in rows.values()), rows
    assert pulled["lake"] == f"{s3_lake_dir}/lake" and rows["trades"]["rows"] > 0

    built = _ok(["build"])
    assert str(s3_env) in built.stdout and s3_env.exists()  # the DuckDB file is local, the lake on S3

    n = rows["trades"]["rows"]
    assert _sql("select count(*) as n from stg_trades") == [{"n": n}]
    # a src_ view reads the lake itself: this new read-only connection reaches S3 through fsspec
    assert _sql("select count(distinct trade_id) as n from src_trades") == [{"n": n}]
    assert _sql("select balance_dollars as b from stg_balance where _account = 's3test'") == [
        {"b": "1234.560000"}
    ]

    status = json.loads(_ok(["status", "--json"]).stdout)
    by_stream = {s["stream"]: s for s in status["streams"]}
    assert by_stream["trades"]["rows"] == n and by_stream["trades"]["last_outcome"] == "ok"

    from kalshi_lake.notebook import lake_dir_for, lake_root_for, open_warehouse

    assert lake_dir_for() == s3_lake_dir  # a URI stays a URI (Path('s3://b/k') would be the folder s3:/b/k)
    con = open_warehouse()
    assert con.execute("select count(*) from src_trades").fetchone()[0] == n
    con.close()
    monkeypatch.setenv(
        "KALSHI_WAREHOUSE", str(s3_env.parent / "none.duckdb")
    )  # no warehouse: built in memory
    con = open_warehouse()
    assert con.execute("select count(*) from stg_trades").fetchone()[0] == n
    assert lake_root_for() == f"{s3_lake_dir}/lake"
    con.close()
    monkeypatch.setenv("KALSHI_WAREHOUSE", str(s3_env))

    from pipelines.flows import refresh

    out = refresh.fn(streams=["trades"], build=True)  # what the schedule runs: pull, then build
    assert [r.outcome for r in out["market_data"]] == ["ok"] and out["build"].ok
    assert _sql("select count(*) - count(distinct trade_id) as dupes from stg_trades") == [{"dupes": 0}]


def test_a_warehouse_on_s3_is_refused_as_configuration(s3_env, s3_lake_dir, monkeypatch):
    monkeypatch.setenv("KALSHI_WAREHOUSE", f"{s3_lake_dir}/kalshi.duckdb")
    result = CliRunner().invoke(app, ["build"])
    assert result.exit_code != 0 and "KALSHI_WAREHOUSE must be a local file path" in result.output


def test_configuration_errors_are_not_retried_by_the_flows():
    import duckdb

    from kalshi_extract.errors import TransportError
    from kalshi_lake.warehouse import WarehouseError, _local_db
    from pipelines.flows import _may_heal

    with pytest.raises(WarehouseError) as refused:
        _local_db("s3://bucket/kalshi.duckdb")
    assert not _may_heal(refused.value)
    try:
        try:
            raise duckdb.IOException(
                'Extension "httpfs" not found; autoinstall_known_extensions is off: cannot read s3://b/k'
            )
        except duckdb.Error as exc:
            raise WarehouseError("cannot read lake stream 'trades' under s3://b/k/lake") from exc
    except WarehouseError as exc:
        assert not _may_heal(exc)
    try:
        try:
            raise ModuleNotFoundError("No module named 's3fs'", name="s3fs")
        except ImportError as exc:
            raise WarehouseError("cannot read lake stream 'trades'") from exc
    except WarehouseError as exc:
        assert not _may_heal(exc)
    assert _may_heal(WarehouseError("the warehouse is in use by another process"))
    assert _may_heal(TransportError("connection reset"))
