"""A split stream through the flows: `.fn` (threads), orchestrated (one task run per shard), and `kalshi-lake pull
--prefect --split auto` on a real local Dask cluster (a `dask scheduler` and two `dask worker` processes): the
same rows as an unsplit pull, each once; every shard's progress in the CLI's display; the summary names the
shards."""

from __future__ import annotations

import json
import os
from pathlib import Path

import prefect  # noqa: F401  (imported here, not inside CliRunner: its root log handler keeps the real stderr)
import pytest

from kalshi_extract.ingest.plan import plan_pull
from kalshi_extract.ingest.run import run_pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings


def _env(monkeypatch, lake: Path, **extra: str) -> Settings:
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    for key, value in {"KALSHI_LAKE_DIR": str(lake), **extra}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(lake.parent)
    return Settings.load()


def _trade_ids(settings: Settings) -> list[str]:
    return Lake.from_settings(settings).read("trades", ["trade_id"]).column("trade_id").to_pylist()


def _reference(exchange, tmp_path: Path) -> list[str]:
    """The trades of an unsplit pull of the same exchange."""
    settings = Settings.load(
        environ={
            "KALSHI_ENV": "local",
            "KALSHI_API_URL": exchange.base_url,
            "KALSHI_LAKE_DIR": str(tmp_path / "ref"),
        },
        config_path=None,
    )
    assert run_pull(settings, plan_pull(settings, ["markets", "trades"])).ok
    return _trade_ids(settings)


def _assert_same_each_once(got: list[str], want: list[str]) -> None:
    assert len(got) == len(set(got)), "a trade landed twice"
    assert sorted(got) == sorted(want) and want


def test_cli_pull_split_json_says_how_many_shards(exchange, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from kalshi_lake.cli import app

    settings = _env(monkeypatch, tmp_path / "data", KALSHI_ENV="local", KALSHI_API_URL=exchange.base_url)
    done = CliRunner().invoke(app, ["pull", "markets", "trades", "--split", "2", "--json"])
    assert done.exit_code == 0, done.output
    rows = {r["stream"]: r for r in json.loads(done.stdout)["streams"]}
    assert rows["trades"]["shards"] == 2 and rows["markets"]["shards"] == 0
    assert rows["trades"]["rows"] == len(_trade_ids(settings))
    refused = CliRunner().invoke(app, ["pull", "markets", "--split", "2"])
    assert refused.exit_code != 0 and "no stream of this pull can be split" in refused.output


def test_market_data_fn_splits_trades(exchange, tmp_path, monkeypatch):
    from pipelines.flows import pull_market_data

    settings = _env(monkeypatch, tmp_path / "data", KALSHI_ENV="local", KALSHI_API_URL=exchange.base_url)
    results = {r.stream: r for r in pull_market_data.fn(streams=["markets", "trades"], split=3)}
    assert results["trades"].ok and results["trades"].shards == 3 and results["markets"].shards == 0
    assert results["trades"].rows == len(_trade_ids(settings))
    _assert_same_each_once(_trade_ids(settings), _reference(exchange, tmp_path))


@pytest.mark.prefect
@pytest.mark.slow
def test_pull_market_data_flow_one_task_run_per_shard(prefect_harness, exchange, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from pipelines.flows import pull_market_data

    settings = _env(monkeypatch, tmp_path / "data", KALSHI_ENV="local", KALSHI_API_URL=exchange.base_url)
    state = pull_market_data(streams=["markets", "trades"], split=2, return_state=True)
    assert state.is_completed(), state.message
    trades = {r.stream: r for r in state.result()}["trades"]
    assert trades.shards == 2
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        )
    assert sorted(r.name for r in runs) == ["pull_markets", "pull_trades 1/2", "pull_trades 2/2"]
    _assert_same_each_once(_trade_ids(settings), _reference(exchange, tmp_path))


# ------------------------------------------------------------------------------------------- a real Dask cluster
@pytest.fixture
def cluster(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on loopback with the test's KALSHI_* environment
    (set it first); yields a function starting it (`nthreads` each), returning its address."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("prefect_dask")
    from tests.pipelines.test_dask_workers import _dask, _wait

    procs = []

    def start(nthreads: int = 2) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
        scheduler_file = tmp_path / "scheduler.json"
        procs.append(
            _dask(
                [
                    "scheduler",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--dashboard-address",
                    ":0",
                    "--scheduler-file",
                    str(scheduler_file),
                ],
                env,
                tmp_path / "scheduler.log",
            )
        )
        _wait(scheduler_file.exists, 60, "the scheduler")
        for name in ("w1", "w2"):
            args = ["worker", "--scheduler-file", str(scheduler_file), "--nthreads", str(nthreads)]
            procs.append(_dask([*args, "--no-dashboard", "--name", name], env, tmp_path / f"{name}.log"))
        with distributed.Client(scheduler_file=str(scheduler_file), set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
            return client.scheduler.address

    yield start
    for proc in reversed(procs):
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(30)
        except Exception:  # noqa: BLE001
            proc.kill()


@pytest.mark.prefect
@pytest.mark.slow
def test_pull_prefect_split_auto_on_a_dask_cluster(prefect_harness, exchange, tmp_path, monkeypatch, cluster):
    """`kalshi-lake pull markets trades --prefect --split auto` with KALSHI_TASK_RUNNER=dask: one shard per
    worker, each a task on the cluster, each shard's pages in the display, the summary says "2 shards"; the lake
    holds the rows of an unsplit pull, each once."""
    import dask.config
    from typer.testing import CliRunner

    from kalshi_lake.cli import app

    settings = _env(
        monkeypatch,
        tmp_path / "data",
        KALSHI_ENV="local",
        KALSHI_API_URL=exchange.base_url,
        KALSHI_TASK_RUNNER="dask",
    )
    address = cluster()
    with dask.config.set({"scheduler-address": address}):
        done = CliRunner().invoke(app, ["pull", "markets", "trades", "--prefect", "--split", "auto"])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    for shard in ("trades 1/2", "trades 2/2"):
        line = next(line for line in lines if shard in line and "pages" in line)
        assert " 0 pages" not in line, done.stdout
    assert any("trades (2 shards)" in line for line in lines), done.stdout
    _assert_same_each_once(_trade_ids(settings), _reference(exchange, tmp_path))
