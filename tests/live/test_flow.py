"""The Prefect flow is the same call as the CLI: a paper session through `flow.fn` lands its session rows."""

from __future__ import annotations

import pytest

from kalshi_extract.errors import ConfigError
from kalshi_extract.lake.store import Lake
from pipelines.live import run_strategy_flow


def test_flow_runs_a_paper_session(ex, tmp_path, monkeypatch):
    acct = ex.create_account(1_000_000)
    for k, v in {**acct.env, "KALSHI_LAKE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    ex.clear_requests()
    summary = run_strategy_flow.fn(
        "threshold", series=["KXBTC"], duration_s=2, limits={"max_data_age_s": "600", "max_open_orders": 5}
    )
    assert summary["mode"] == "paper" and summary["reason"] == "time is up (--for)"
    assert not [q for q in ex.requests() if q["method"] != "GET"]
    events = [r["event"] for r in Lake(str(tmp_path / "lake")).read("live_sessions").to_pylist()]
    assert events == ["started", "stopped"]


def test_flow_refuses_prod_live_without_confirmation(ex, tmp_path, monkeypatch):
    acct = ex.create_account(1_000_000)
    for k, v in {**acct.env, "KALSHI_LAKE_DIR": str(tmp_path), "KALSHI_ENV": "prod"}.items():
        monkeypatch.setenv(k, v)
    ex.clear_requests()
    with pytest.raises(ConfigError, match="confirm_prod"):
        run_strategy_flow.fn("threshold", series=["KXBTC"], live=True)
    assert ex.requests() == []
