"""The Dask path (issue 19 item 5) on real Dask clusters on loopback: one cluster per pull, sized for it; every
worker checked (lake, account, key fingerprint, version) before any task; progress back from the workers; and
`KALSHI_TASK_RUNNER=dask` never silently ignored by a plain pull."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import prefect  # noqa: F401  (imported here, not inside CliRunner: its root log handler keeps the real stderr)
import pytest

from kalshi_extract.errors import ConfigError
from kalshi_extract.settings import Settings

distributed = pytest.importorskip("distributed")
pytest.importorskip("prefect_dask")

from pipelines import runtime  # noqa: E402


def _clean(monkeypatch, lake: Path, **extra: str) -> Settings:
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(lake))
    monkeypatch.setenv("KALSHI_TASK_RUNNER", "dask")
    for key, value in extra.items():
        monkeypatch.setenv(key, value)
    return Settings.load()


# ------------------------------------------------------------------------------------------- sizing
@pytest.mark.parametrize(
    "streams, cores, concurrency, workers, threads",
    [
        (
            12,
            2,
            8,
            2,
            4,
        ),  # the demo's pull on 2 cores: 2 processes of 4 threads (not 8 single-thread processes)
        (1, 8, 8, 1, 1),  # one stream: one process
        (3, 8, 8, 3, 1),  # fewer streams than cores: one process each
        (20, 4, 6, 4, 2),  # concurrency caps the streams at once: 6 over 4 processes
    ],
)
def test_local_cluster_is_sized_for_the_pull(streams, cores, concurrency, workers, threads):
    settings = Settings.load(environ={"KALSHI_CONCURRENCY": str(concurrency)})
    kwargs = runtime.local_cluster_kwargs(settings, streams, cores=cores)
    assert (kwargs["n_workers"], kwargs["threads_per_worker"]) == (workers, threads)
    assert kwargs["dashboard_address"] == ":0"


# ------------------------------------------------------------------------------------------- identity
def test_identity_differs_by_account_key_and_lake_and_never_holds_the_key(tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    def pem() -> str:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    key_a, key_b = pem(), pem()
    base = runtime.identity(
        _clean(monkeypatch, tmp_path / "a", KALSHI_API_KEY_ID="id1", KALSHI_PRIVATE_KEY=key_a)
    )
    assert key_a not in repr(base) and "PRIVATE" not in repr(base)
    other_key = runtime.identity(
        _clean(monkeypatch, tmp_path / "a", KALSHI_API_KEY_ID="id1", KALSHI_PRIVATE_KEY=key_b)
    )
    other_account = runtime.identity(
        _clean(
            monkeypatch, tmp_path / "a", KALSHI_API_KEY_ID="id1", KALSHI_PRIVATE_KEY=key_a, KALSHI_ACCOUNT="b"
        )
    )
    other_lake = runtime.identity(
        _clean(monkeypatch, tmp_path / "b", KALSHI_API_KEY_ID="id1", KALSHI_PRIVATE_KEY=key_a)
    )
    assert other_key["key"] != base["key"]
    assert other_account["account"] != base["account"]
    assert other_lake["lake"] != base["lake"]
    # the same key read from a file on another worker has the same fingerprint
    (tmp_path / "k.pem").write_text(key_a)
    from_file = runtime.identity(
        _clean(
            monkeypatch,
            tmp_path / "a",
            KALSHI_API_KEY_ID="id1",
            KALSHI_PRIVATE_KEY_PATH=str(tmp_path / "k.pem"),
        )
    )
    assert from_file == base


def test_a_relative_lake_is_resolved_where_the_worker_runs(tmp_path, monkeypatch):
    (tmp_path / "w1").mkdir()
    (tmp_path / "w2").mkdir()
    settings = _clean(monkeypatch, Path("data"))
    monkeypatch.chdir(tmp_path / "w1")
    here = runtime.identity(settings)
    monkeypatch.chdir(tmp_path / "w2")
    assert runtime.worker_identity(settings)["lake as sent"] != here["lake"]


# ------------------------------------------------------------------------------------------- a real cluster
def _dask(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("dask")
    return subprocess.Popen(
        [str(exe), *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class TwoWorkers:
    """A `dask scheduler` and two `dask worker` processes ("good" and "odd") on loopback; "odd" was started with
    another KALSHI_LAKE_DIR."""

    def __init__(self, tmp_path: Path, env: dict[str, str]):
        self.tmp_path = tmp_path
        self.elsewhere = tmp_path / "elsewhere"
        self.scheduler_file = tmp_path / "scheduler.json"
        self.procs: list[subprocess.Popen] = []
        self.procs.append(
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
                    str(self.scheduler_file),
                ],
                env,
                tmp_path / "scheduler.log",
            )
        )
        _wait(self.scheduler_file.exists, 60, "the scheduler")
        self.env = env
        self.worker_args = worker = [
            "worker",
            "--scheduler-file",
            str(self.scheduler_file),
            "--nthreads",
            "2",
            "--no-dashboard",
        ]
        self.procs.append(_dask([*worker, "--name", "good"], env, tmp_path / "good.log"))
        self.odd = _dask(
            [*worker, "--name", "odd"], {**env, "KALSHI_LAKE_DIR": str(self.elsewhere)}, tmp_path / "odd.log"
        )
        self.procs.append(self.odd)
        with distributed.Client(scheduler_file=str(self.scheduler_file), set_as_default=False) as client:
            client.wait_for_workers(2, timeout=90)
            self.address = client.scheduler.address

    def stop_odd(self) -> None:
        self.odd.terminate()
        self.odd.wait(30)
        with distributed.Client(self.address, set_as_default=False) as client:
            _wait(lambda: len(client.scheduler_info()["workers"]) == 1, 60, "the odd worker to leave")

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def two_workers(tmp_path, monkeypatch):
    """Yields a function starting the cluster with the test's KALSHI_* environment (set it first)."""
    started: list[TwoWorkers] = []

    def start() -> TwoWorkers:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
        started.append(TwoWorkers(tmp_path, env))
        return started[-1]

    yield start
    for cluster in started:
        cluster.close()


def _assert_refused(message: str, cluster: TwoWorkers) -> None:
    assert "\n" not in message.strip()
    assert "Dask worker odd" in message and "worker good" not in message
    assert str(cluster.elsewhere) in message and "refusing" in message


@pytest.mark.slow
def test_a_worker_with_another_lake_is_refused_naming_it(tmp_path, monkeypatch, two_workers):
    """The run refuses before any task, naming the odd worker; with it gone, the same cluster is accepted."""
    import dask.config

    lake = tmp_path / "lake"
    settings = _clean(monkeypatch, lake)
    cluster = two_workers()
    with dask.config.set({"scheduler-address": cluster.address}):
        with pytest.raises(ConfigError) as refused:
            with runtime.dask_scope(settings, streams=2):
                pytest.fail("the scope must not be entered with a mismatched worker")
        _assert_refused(str(refused.value), cluster)
        assert not lake.exists()  # nothing written
        cluster.stop_odd()
        with runtime.dask_scope(settings, streams=2) as used:
            assert used == cluster.address
            # a worker that joins after the check is refused by the stream task itself
            late_env = {**cluster.env, "KALSHI_ACCOUNT": "someone-else"}
            late = _dask([*cluster.worker_args, "--name", "late"], late_env, tmp_path / "late.log")
            cluster.procs.append(late)
            with distributed.Client(used, set_as_default=False) as client:
                client.wait_for_workers(2, timeout=90)
                [address] = [a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "late"]
                expected = runtime.identity(settings)
                on_late = client.submit(runtime.verify_here, settings, expected, "trades", workers=[address])
                with pytest.raises(
                    ConfigError, match=r"Dask worker late .*account 'someone-else'.*refusing to pull trades"
                ):
                    on_late.result(timeout=60)
                [good] = [a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "good"]
                on_good = client.submit(
                    runtime.verify_here, settings, expected, "trades", workers=[good], pure=False
                )
                assert on_good.result(timeout=60) is None


@pytest.mark.prefect
@pytest.mark.slow
def test_pull_prefect_on_a_dask_cluster_end_to_end(
    prefect_harness, exchange, tmp_path, monkeypatch, two_workers
):
    """`kalshi-lake pull --prefect` with KALSHI_TASK_RUNNER=dask against an external cluster: refused (exit 1, one
    line naming the worker, nothing landed) while the odd worker is in it; then lands the streams on the good
    worker, with the workers' page counts in the CLI's display."""
    import dask.config
    from typer.testing import CliRunner

    from kalshi_extract.lake.store import Lake
    from kalshi_lake.cli import app

    lake = tmp_path / "data"
    monkeypatch.chdir(tmp_path)
    settings = _clean(monkeypatch, lake, KALSHI_ENV="local", KALSHI_API_URL=exchange.base_url)
    cluster = two_workers()
    with dask.config.set({"scheduler-address": cluster.address}):
        refused = CliRunner().invoke(app, ["pull", "markets", "trades", "--prefect", "--json"])
        assert refused.exit_code == 1, refused.output
        _assert_refused(refused.stderr.strip().splitlines()[-1], cluster)
        assert not any((lake / "lake").glob("**/*.parquet"))

        cluster.stop_odd()
        done = CliRunner().invoke(app, ["pull", "markets", "trades", "--prefect"])
        assert done.exit_code == 0, done.output
    table = Lake.from_settings(settings).read("trades")
    assert table.num_rows > 0
    trades_line = next(line for line in done.stdout.splitlines() if "trades" in line and "pages" in line)
    assert " 0 pages" not in trades_line, done.stdout


def _report_from_worker(stream: str) -> str:
    report = runtime.progress_reporter()
    report(stream, 0, 0, "started")
    report(stream, 1, 100, None)  # within PROGRESS_EVERY_SECONDS of the last event: not sent
    time.sleep(runtime.PROGRESS_EVERY_SECONDS + 0.05)
    report(stream, 7, 700, None)
    report(stream, 9, 900, "ok")
    from distributed import get_worker

    return get_worker().address


@pytest.mark.slow
def test_one_local_cluster_per_pull_and_progress_comes_back(tmp_path, monkeypatch):
    settings = _clean(monkeypatch, tmp_path / "lake", KALSHI_CONCURRENCY="4")
    started: list = []
    real = distributed.LocalCluster

    def counting(*args, **kwargs):
        started.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", counting)
    seen: list[tuple] = []
    lock = threading.Lock()

    def sink(stream, pages, rows, status):
        with lock:
            seen.append((stream, pages, rows, status))

    with runtime.progress_sink(sink), runtime.dask_scope(settings, streams=12) as outer:
        with runtime.dask_scope(settings, streams=12) as inner:  # a subflow of the same pull
            assert inner == outer
        with distributed.Client(outer, set_as_default=False) as client:
            where = client.submit(_report_from_worker, "trades", pure=False).result(timeout=60)
        assert where != ""
        _wait(lambda: ("trades", 9, 900, "ok") in seen, 30, "the worker's progress events")
    assert len(started) == 1
    assert started[0]["n_workers"] == min(os.cpu_count() or 1, 4)
    assert ("trades", 7, 700, None) in seen and ("trades", 0, 0, "started") in seen
    assert ("trades", 1, 100, None) not in seen


def test_without_the_extra_the_dask_runner_is_a_one_line_error(tmp_path, monkeypatch):
    settings = _clean(monkeypatch, tmp_path / "lake")
    monkeypatch.setitem(sys.modules, "prefect_dask", None)  # as if `kalshi-lake[dask]` were not installed
    with pytest.raises(ConfigError, match=r"kalshi-lake\[dask\]"):
        with runtime.dask_scope(settings):
            pass


# ------------------------------------------------------------------------------------------- the plain pull
def test_a_plain_pull_says_dask_needs_prefect(exchange, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from kalshi_lake.cli import app
    from kalshi_lake.cli.data_cmd import DASK_NEEDS_PREFECT

    _clean(monkeypatch, tmp_path / "data", KALSHI_ENV="local", KALSHI_API_URL=exchange.base_url)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["pull", "exchange_status", "--json"])
    assert result.exit_code == 0, result.output
    assert DASK_NEEDS_PREFECT in result.stderr
    assert DASK_NEEDS_PREFECT not in result.stdout  # --json stays parseable
