"""The flows against the local exchange: plainly through `.fn`, and orchestrated under Prefect's test harness.
(The library they call, `kalshi_extract.ingest.run`, is tested in test_run.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kalshi_extract.ingest.plan import MARKET_DATA_STREAMS, PORTFOLIO_STREAMS, PullFailed
from kalshi_extract.settings import Settings


def _env(monkeypatch, mapping: dict[str, str], lake_dir: Path) -> Settings:
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    for key, value in mapping.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(lake_dir))
    monkeypatch.chdir(lake_dir.parent)
    return Settings.load()


@pytest.fixture
def public_env(exchange, tmp_path, monkeypatch) -> Settings:
    """Market data only: the local exchange, no key."""
    return _env(monkeypatch, {"KALSHI_ENV": "local", "KALSHI_API_URL": exchange.base_url}, tmp_path / "data")


@pytest.fixture
def account_env(exchange, tmp_path, monkeypatch) -> Settings:
    """A fresh funded account on the local exchange, with its key."""
    account = exchange.create_account(balance_cents=1_000_00)
    return _env(monkeypatch, {**account.env, "KALSHI_ACCOUNT": "flowtest"}, tmp_path / "data")


def _lake_rows(settings: Settings, stream: str) -> int:
    from kalshi_extract.lake.store import Lake

    lake = Lake.from_settings(settings)
    return lake.dataset(stream).count_rows() if lake.files(stream) else 0


def _by_stream(results) -> dict:
    return {r.stream: r for r in results}


# ------------------------------------------------------------------------------------------- without Prefect
def test_market_data_fn_lands_streams_in_waves(public_env):
    from pipelines.flows import pull_market_data

    results = pull_market_data.fn(streams=["trades", "series", "markets"])
    assert [r.stream for r in results] == ["series", "markets", "trades"]  # reference streams first
    assert all(r.ok for r in results), [r.error for r in results]
    for r in results[1:]:
        assert r.rows > 0 and _lake_rows(public_env, r.stream) == r.rows
    assert len({r.run_id for r in results}) == 1


def test_portfolio_without_key_fails_before_touching_the_lake(public_env):
    from kalshi_extract.errors import ConfigError
    from pipelines.flows import pull_portfolio

    with pytest.raises(ConfigError, match="KALSHI_API_KEY_ID"):
        pull_portfolio.fn()
    assert not Path(public_env.lake_dir).exists()


def test_a_failing_stream_does_not_stop_the_others(exchange, tmp_path, monkeypatch):
    from pipelines.flows import refresh

    # A key the exchange has never seen: public streams work, private ones are refused (401).
    account = exchange.create_account(balance_cents=100)
    env = {**account.env, "KALSHI_API_KEY_ID": "00000000-0000-0000-0000-000000000000"}
    settings = _env(monkeypatch, env, tmp_path / "data")
    with pytest.raises(PullFailed) as info:
        refresh.fn(streams=["markets", "balance"], build=False)
    got = _by_stream(info.value.results)
    assert got["markets"].ok and _lake_rows(settings, "markets") > 0
    assert not got["balance"].ok
    assert got["balance"].error_type == "AuthenticationError" and got["balance"].retriable is False
    assert "balance" in str(info.value)


# ------------------------------------------------------------------------------------------- under Prefect
def _task_runs(flow_run_id) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        return client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))


@pytest.mark.prefect
@pytest.mark.slow
def test_pull_market_data_flow_one_task_run_per_stream(prefect_harness, public_env):
    from pipelines.flows import pull_market_data

    state = pull_market_data(return_state=True)
    assert state.is_completed(), state.message
    results = state.result()
    assert [r.stream for r in results] == list(MARKET_DATA_STREAMS)  # reference streams first, then the rest
    runs = _task_runs(state.state_details.flow_run_id)
    assert sorted(r.name for r in runs) == sorted(f"pull_{s}" for s in MARKET_DATA_STREAMS)
    assert all(r.state.is_completed() for r in runs)
    assert _lake_rows(public_env, "trades") > 0 and _lake_rows(public_env, "orderbook_snapshots") > 0


@pytest.mark.prefect
@pytest.mark.slow
def test_pull_portfolio_and_build_models_flows(prefect_harness, account_env):
    from kalshi_lake.warehouse import connect
    from pipelines.flows import build_models, pull_portfolio

    state = pull_portfolio(return_state=True)
    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    runs = _task_runs(flow_run_id)
    assert sorted(r.name for r in runs) == sorted(f"pull_{s}" for s in PORTFOLIO_STREAMS)
    assert _lake_rows(account_env, "balance") == 1
    # Logged through Prefect (per stream), and nothing secret in the logs or the recorded parameters.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # logs are shipped in batches: send what is queued
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
        flow_run = client.read_flow_run(flow_run_id)
    text = "\n".join(log.message for log in logs) + repr(flow_run.parameters)
    assert "pulled balance" in text
    secret_line = account_env.private_key.strip().splitlines()[1]
    assert secret_line not in text and "PRIVATE KEY" not in text

    result = build_models()
    assert not result.failures
    con = connect(str(account_env.warehouse_path), read_only=True)
    try:
        (balance,) = con.execute("select balance from stg_balance where _account = 'flowtest'").fetchone()
    finally:
        con.close()
    assert balance == 1_000_00


@pytest.mark.prefect
@pytest.mark.slow
def test_refresh_flow_fails_visibly_without_retrying_auth_errors(
    prefect_harness, exchange, tmp_path, monkeypatch
):
    from pipelines.flows import refresh

    account = exchange.create_account(balance_cents=100)
    env = {**account.env, "KALSHI_API_KEY_ID": "00000000-0000-0000-0000-000000000000"}
    settings = _env(monkeypatch, env, tmp_path / "data")
    state = refresh(streams=["markets", "fills"], build=False, return_state=True)
    assert state.is_failed()
    with pytest.raises(PullFailed):
        state.result()
    assert _lake_rows(settings, "markets") > 0
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(any_=["pull_fills"]))
        )
    failed = [r for r in runs if r.state.is_failed()]
    assert failed and all(r.run_count == 1 for r in failed)  # 401 is not retried


def test_selection_reaches_the_lake(public_env, exchange):
    from kalshi_extract.api.client import KalshiClient
    from kalshi_extract.lake.store import Lake
    from pipelines.flows import pull_market_data

    with KalshiClient(public_env) as client:
        ticker = next(t["ticker"] for t in client.get_trades(limit=1))
    results = pull_market_data.fn(streams=["trades"], tickers=[ticker])
    assert all(r.ok for r in results)
    got = set(Lake.from_settings(public_env).read("trades", columns=["ticker"]).column("ticker").to_pylist())
    assert got == {ticker}


def test_status_gaps_are_missing_days():
    from datetime import date

    from kalshi_extract.ingest.status import _missing_days

    days = [date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 5), date(2026, 1, 7)]
    assert _missing_days(days) == [
        {"kind": "no data", "from": "2026-01-03", "to": "2026-01-04"},
        {"kind": "no data", "from": "2026-01-06", "to": "2026-01-06"},
    ]
    assert _missing_days(days[:2]) == []


def test_coverage_gaps_from_the_run_log():
    import json
    from datetime import UTC, datetime

    from kalshi_extract.ingest.status import coverage_gaps

    def run(since, until, outcome="ok", **narrow):
        sel = {"since": since, "until": until, "series": None, "events": None, "tickers": None, **narrow}
        return {
            "outcome": outcome,
            "selection": json.dumps(sel),
            "finished_at": datetime(2026, 3, 1, tzinfo=UTC),
        }

    runs = [
        run("2026-01-01T00:00:00+00:00", "2026-01-10T00:00:00+00:00"),
        run("2026-01-20T00:00:00+00:00", "2026-01-25T00:00:00+00:00"),
        run("2026-01-10T00:00:00+00:00", "2026-01-15T00:00:00+00:00", outcome="failed"),  # does not count
        run("2026-01-10T00:00:00+00:00", "2026-01-20T00:00:00+00:00", tickers=["X"]),  # only one market
        run("2026-01-24T00:00:00+00:00", None),  # incremental from the 24th on
    ]
    assert coverage_gaps(runs) == [
        {"kind": "not pulled", "from": "2026-01-10T00:00:00+00:00", "to": "2026-01-20T00:00:00+00:00"}
    ]
    assert coverage_gaps([run(None, None)]) == []  # a plain incremental pull covers everything


def test_status_reports_a_backfill_hole(public_env):
    from kalshi_extract.ingest.plan import plan_pull
    from kalshi_extract.ingest.run import run_pull
    from kalshi_extract.ingest.status import lake_status

    for since, until in (("2026-11-01", "2026-11-05"), ("2026-11-10", "2026-11-12")):
        assert run_pull(public_env, plan_pull(public_env, ["trades"], since=since, until=until)).ok
    trades = {s["stream"]: s for s in lake_status(public_env)["streams"]}["trades"]
    holes = [g for g in trades["gaps"] if g["kind"] == "not pulled"]
    assert holes == [
        {"kind": "not pulled", "from": "2026-11-05T00:00:00+00:00", "to": "2026-11-10T00:00:00+00:00"}
    ]


def test_record_fn_records_a_series_until_its_duration(account_env, exchange):
    """The `record` flow (plainly): the library's recorder on a series for a short while; its coverage log says
    it started, was whole and stopped at the duration."""
    import threading
    import time

    from kalshi_extract.lake.store import Lake
    from pipelines.flows import record

    ticking = threading.Event()

    def advance() -> None:  # the world moves while the flow records
        time.sleep(1.0)
        while not ticking.is_set():
            exchange.advance(300)
            time.sleep(0.3)

    mover = threading.Thread(target=advance, daemon=True)
    mover.start()
    try:
        status = record.fn(series=["KXHIGHNY"], channels=["orderbook_delta", "trade"], duration="4s")
    finally:
        ticking.set()
        mover.join(10)
    assert status["stop_reason"] == "duration reached" and status["markets"] > 0
    assert status["rows_flushed"] > 0 and status["rows_waiting"] == 0
    lake = Lake.from_settings(account_env)
    events = [r["event"] for r in lake.read("ws_coverage").to_pylist()]
    assert {"started", "connected", "added", "whole", "alive", "stopped"} <= set(events)
    assert lake.dataset("ws_book").count_rows() > 0


def test_serve_includes_the_recorder_only_when_asked():
    from pipelines.serve import deployments

    names = {d.name for d in deployments(Settings.load(environ={}))}
    assert "record" not in names
    got = {d.name: d for d in deployments(Settings.load(environ={"KALSHI_RECORD_SERIES": "KXBTC, KXINXD"}))}
    assert got["record"].parameters == {"series": ["KXBTC", "KXINXD"]}
    assert got["record"].entrypoint.endswith("pipelines/flows.py:record")
    assert (
        got["record"].concurrency_limit == 1
    )  # the every-minute schedule is a watchdog, never a second recorder
