"""The library door below the CLI and the flows (`kalshi_extract.ingest.run`), against the local exchange; and
`kalshi-lake pull` in a process of its own: no Prefect, settings loaded once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from kalshi_extract.ingest.plan import plan_pull
from kalshi_extract.ingest.run import run_pull
from kalshi_extract.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _settings(tmp_path: Path, **connection: str) -> Settings:
    return Settings.load(environ={**connection, "KALSHI_LAKE_DIR": str(tmp_path / "data")}, config_path=None)


@pytest.fixture
def public(exchange, tmp_path, monkeypatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # no kalshi-lake.toml of the developer's
    return _settings(tmp_path, KALSHI_ENV="local", KALSHI_API_URL=exchange.base_url)


def _lake_rows(settings: Settings, stream: str) -> int:
    from kalshi_extract.lake.store import Lake

    lake = Lake.from_settings(settings)
    return lake.dataset(stream).count_rows() if lake.files(stream) else 0


def test_run_pull_lands_every_stream_and_reports_progress(public):
    seen: list[tuple[str, int, int, str | None]] = []
    lock = threading.Lock()

    def progress(stream, pages, rows, status):
        with lock:
            seen.append((stream, pages, rows, status))

    plan = plan_pull(public, ["trades", "markets", "series"])
    run = run_pull(public, plan, progress=progress)
    assert [r.stream for r in run.streams] == list(plan.streams)
    assert run.ok and {r.run_id for r in run.streams} == {run.run_id}
    for r in run.streams:
        assert r.rows == _lake_rows(public, r.stream)
        mine = [s for s in seen if s[0] == r.stream]
        assert mine[0][3] == "started" and mine[-1] == (r.stream, r.pages, r.rows, "ok")
        pages = [s for s in mine if s[3] is None]
        assert len(pages) == r.pages and max((p[2] for p in pages), default=0) == r.rows
    # markets (first wave) ended before trades (second wave) started
    order = [(s[0], s[3]) for s in seen if s[3]]
    assert order.index(("markets", "ok")) < order.index(("trades", "started"))
    # a broken display never fails a pull, and a second pull adds no duplicate trades
    again = run_pull(public, plan_pull(public, ["trades"]), progress=lambda *a: 1 / 0)
    assert again.ok
    from kalshi_extract.lake.store import Lake

    ids = Lake.from_settings(public).read("trades", columns=["trade_id"]).column("trade_id").to_pylist()
    assert len(ids) == len(set(ids)) > 0


def test_a_failed_stream_is_returned_not_raised(exchange, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    account = exchange.create_account(balance_cents=100)
    env = {**account.env, "KALSHI_API_KEY_ID": "00000000-0000-0000-0000-000000000000"}  # unknown: 401
    settings = _settings(tmp_path, **env)
    run = run_pull(settings, plan_pull(settings, ["markets", "balance"]))
    got = {r.stream: r for r in run.streams}
    assert got["markets"].ok and _lake_rows(settings, "markets") == got["markets"].rows > 0
    balance = got["balance"]
    assert not balance.ok and balance.error_type == "AuthenticationError" and balance.retriable is False
    assert balance.error.startswith("AuthenticationError")
    assert "PRIVATE KEY" not in balance.error


def test_the_cutoff_is_read_once_per_run(public, monkeypatch):
    from kalshi_extract.api.client import KalshiClient

    paths: list[str] = []
    real_get = KalshiClient.get

    def counting_get(self, path, *args, **kwargs):
        paths.append(path)
        return real_get(self, path, *args, **kwargs)

    monkeypatch.setattr(KalshiClient, "get", counting_get)
    plan = plan_pull(public, ["markets", "trades", "candlesticks"])
    assert run_pull(public, plan).ok
    assert paths.count("/historical/cutoff") == 1
    assert run_pull(public, plan).ok
    assert paths.count("/historical/cutoff") == 2  # every run reads it afresh


_PROBE = """
import atexit, sys
from kalshi_extract.settings import Settings
loads = []
real_load = Settings.load.__func__
def counting_load(cls, *args, **kwargs):
    loads.append(1)
    return real_load(cls, *args, **kwargs)
Settings.load = classmethod(counting_load)
atexit.register(lambda: sys.stderr.write("\\nPROBE " + " ".join(
    ["prefect=%s" % ("prefect" in sys.modules), "pipelines=%s" % ("pipelines" in sys.modules),
     "loads=%d" % len(loads)]) + "\\n"))
from kalshi_lake.cli import main
sys.argv = ["kalshi-lake", *sys.argv[1:]]
main()
"""


def test_cli_pull_imports_no_prefect_and_loads_settings_once(exchange, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KALSHI_", "PREFECT_"))}
    env |= {
        "KALSHI_ENV": "local",
        "KALSHI_API_URL": exchange.base_url,
        "KALSHI_LAKE_DIR": str(tmp_path / "d"),
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, "pull", "markets", "trades", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    streams = {s["stream"]: s for s in json.loads(out.stdout.strip().splitlines()[-1])["streams"]}
    assert streams["trades"]["outcome"] == "ok" and streams["trades"]["rows"] > 0
    probe = out.stderr.strip().splitlines()[-1]
    assert probe == "PROBE prefect=False pipelines=False loads=1", out.stderr[-2000:]
