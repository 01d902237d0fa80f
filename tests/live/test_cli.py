"""``kalshi-lake run`` end to end: paper sends nothing and lands its session; ``--stop`` is a kill switch that
refuses new runs until ``--resume``; prod ``--live`` without ``--yes`` (no terminal) is refused with nothing sent."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kalshi_extract.lake.store import Lake
from kalshi_lake.cli import app
from tests.live.conftest import writes

RUN = ["run", "threshold", "--series", "KXBTC", "--param", "size=2", "--max-data-age", "600"]


@pytest.fixture
def env(ex, tmp_path, monkeypatch):
    acct = ex.create_account(1_000_000)
    for k, v in {**acct.env, "KALSHI_LAKE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("KALSHI_ACCOUNT", raising=False)
    return acct


def test_paper_run_end_to_end_sends_nothing_and_lands_the_session(ex, env, tmp_path):
    ex.clear_requests()
    res = CliRunner().invoke(app, [*RUN, "--for", "3s"])
    assert res.exit_code == 0, res.output
    assert "stopped (time is up (--for))" in res.output
    assert writes(ex) == []
    lake = Lake(str(tmp_path / "lake"))
    sessions = lake.read("live_sessions").to_pylist()
    assert [s["event"] for s in sessions] == ["started", "stopped"]
    assert {s["mode"] for s in sessions} == {"paper"}
    assert json.loads(sessions[-1]["summary"])["reason"] == "time is up (--for)"
    assert lake.read("live_status").num_rows >= 2


def test_stop_is_a_kill_switch_until_resume(ex, env, tmp_path):
    res = CliRunner().invoke(app, ["run", "--stop"])
    assert res.exit_code == 0 and "kill switch set" in res.output
    assert (tmp_path / "live" / "STOP").exists()
    ex.clear_requests()
    refused = CliRunner().invoke(app, [*RUN, "--for", "3s"])
    assert refused.exit_code != 0 and "kill switch is set" in refused.output
    assert ex.requests() == []  # refused before connecting
    assert CliRunner().invoke(app, ["run", "--resume"]).exit_code == 0
    assert not (tmp_path / "live" / "STOP").exists()
    again = CliRunner().invoke(app, [*RUN, "--for", "2s"])
    assert again.exit_code == 0, again.output


def test_prod_live_without_yes_is_refused_with_nothing_sent(ex, env, monkeypatch):
    monkeypatch.setenv("KALSHI_ENV", "prod")  # KALSHI_API_URL still points at the local exchange
    monkeypatch.setenv("KALSHI_WS_URL", ex.ws_url)
    ex.clear_requests()
    res = CliRunner().invoke(app, [*RUN, "--live", "--for", "2s"])
    assert res.exit_code == 4, res.output
    assert "Nothing was sent" in res.output
    assert ex.requests() == []


def test_live_and_paper_exclude_each_other(env):
    res = CliRunner().invoke(app, [*RUN, "--live", "--paper"])
    assert res.exit_code != 0 and "exclude each other" in res.output
