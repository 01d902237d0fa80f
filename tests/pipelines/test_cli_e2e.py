"""The data commands against the local exchange: pull → build → sql → status, plainly and with --prefect."""

from __future__ import annotations

import csv
import io
import json
import os
from decimal import Decimal

import prefect  # noqa: F401  (imported here, not inside CliRunner: its root log handler keeps the real stderr)
import pytest
from typer.testing import CliRunner

from kalshi_lake.cli import app


@pytest.fixture
def local_env(exchange, tmp_path, monkeypatch):
    """A funded account on the session exchange, a temp lake dir, nothing from the developer's shell."""
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    account = exchange.create_account(balance_cents=123_456)
    for key, value in account.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KALSHI_ACCOUNT", "clitest")
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def _ok(args: list[str]):
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"{args}: {result.output}\n{result.exception!r}"
    return result


def test_pull_build_sql_status(local_env):
    pulled = json.loads(_ok(["pull", "markets", "trades", "balance", "--json"]).stdout)
    rows = {s["stream"]: s for s in pulled["streams"]}
    assert set(rows) == {"markets", "trades", "balance"}
    assert all(s["outcome"] == "ok" for s in rows.values())
    assert rows["trades"]["rows"] > 0 and rows["balance"]["rows"] == 1

    built = _ok(["build"])
    assert "built" in built.stdout and "kalshi.duckdb" in built.stdout
    assert (local_env / "kalshi.duckdb").exists()

    query = "select count(*) as n, min(balance_dollars) as bal from stg_balance where _account = 'clitest'"
    as_json = json.loads(_ok(["sql", query, "--format", "json"]).stdout)
    assert as_json == [{"n": 1, "bal": "1234.560000"}]  # money as exact strings, never floats
    as_csv = list(csv.reader(io.StringIO(_ok(["sql", query, "-f", "csv"]).stdout)))
    assert as_csv == [["n", "bal"], ["1", "1234.560000"]]
    table = _ok(["sql", "select count(*) as trades from stg_trades"]).stdout
    assert f"{rows['trades']['rows']}" in table.replace(",", "")
    assert Decimal(as_json[0]["bal"]) == Decimal("1234.56")

    status = json.loads(_ok(["status", "--json"]).stdout)
    by_stream = {s["stream"]: s for s in status["streams"]}
    assert by_stream["trades"]["rows"] == rows["trades"]["rows"]
    assert by_stream["trades"]["last_outcome"] == "ok" and by_stream["trades"]["range_start"]
    assert by_stream["fills"]["last_run"] is None  # never pulled
    assert _ok(["status"]).stdout.count("trades") == 1


def test_an_unwritable_lake_is_one_error_before_any_stream(local_env):
    (local_env / "lake").mkdir(parents=True)
    (local_env / "lake" / "_tmp").write_text("a file where the lake keeps its temp files")
    result = CliRunner().invoke(app, ["pull", "markets", "trades", "events"])
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert err.count("\n") == 0 and err.startswith("error: the lake at "), err
    assert "cannot be written" in err
    assert sorted(p.name for p in (local_env / "lake").iterdir()) == ["_tmp"]  # nothing pulled or written


def test_a_build_with_nothing_new_is_skipped_unless_forced(local_env):
    _ok(["pull", "markets", "trades"])
    assert "built" in _ok(["build"]).stdout
    assert "is up to date" in _ok(["build"]).stdout  # same lake, same models: nothing to do
    _ok(["pull", "balance"])  # a new file in the lake
    assert "built" in _ok(["build"]).stdout
    assert "built" in _ok(["build", "--force"]).stdout


def test_failed_private_pull_exits_non_zero_with_the_reason(local_env, monkeypatch):
    monkeypatch.setenv("KALSHI_API_KEY_ID", "00000000-0000-0000-0000-000000000000")  # unknown to the exchange
    result = CliRunner().invoke(app, ["pull", "markets", "fills"])
    assert result.exit_code == 1
    err = result.stderr.strip().splitlines()[-1]  # library logs may precede it; the reason is the last line
    assert err.startswith("error: fills: AuthenticationError"), err
    assert "AuthenticationError" in err
    assert "PRIVATE KEY" not in result.output
    assert "markets" in result.stdout  # the summary still shows what landed
    status = json.loads(_ok(["status", "--json"]).stdout)
    by_stream = {s["stream"]: s for s in status["streams"]}
    assert by_stream["markets"]["rows"] > 0
    assert by_stream["fills"]["last_outcome"] == "failed" and by_stream["fills"]["rows"] == 0


def test_an_unreadable_key_fails_once_before_anything_and_public_books_need_none(
    local_env, monkeypatch, tmp_path
):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    bad.chmod(0o600)
    monkeypatch.delenv("KALSHI_PRIVATE_KEY", raising=False)
    monkeypatch.setenv("KALSHI_PRIVATE_KEY_PATH", str(bad))
    result = CliRunner().invoke(app, ["pull"])  # everything: the portfolio too, since a key is set
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert err.count("error:") == 1 and err.count("\n") == 0, err
    assert "is not a readable unencrypted PEM private key" in err
    assert not (local_env / "lake").exists()  # checked before anything was pulled or written
    books = json.loads(_ok(["pull", "orderbook_snapshots", "--json"]).stdout)  # public: goes unsigned
    assert books["streams"][0]["outcome"] == "ok" and books["streams"][0]["rows"] > 0


@pytest.mark.prefect
@pytest.mark.slow
def test_pull_and_build_with_prefect(prefect_harness, local_env):
    pulled = json.loads(_ok(["pull", "markets", "positions", "--prefect", "--json"]).stdout)
    assert {s["stream"]: s["outcome"] for s in pulled["streams"]} == {"markets": "ok", "positions": "ok"}
    _ok(["build", "--prefect"])
    out = json.loads(_ok(["sql", "select count(*) as n from stg_markets", "-f", "json"]).stdout)
    assert out[0]["n"] > 0
