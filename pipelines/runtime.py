"""How the flows run their tasks: orchestrated by Prefect, or plainly through `.fn`.

Inside a Prefect flow run the tasks are submitted to a task runner so the UI shows one task run per stream;
under a flow's `.fn` (the same code without Prefect's API, whose ephemeral server costs 10-20 s per process to
start) the task functions (`task.fn`) run in a thread pool. Either way a failed stream does not stop the others:
every outcome is collected. (The CLI does not come through here: it calls `kalshi_extract.ingest.run`.)

Task runner (`KALSHI_TASK_RUNNER`, Prefect flow runs only: `--prefect`, `serve`, deployments; a plain
`kalshi-lake pull` runs its streams in threads and says so): `threads` (default, `settings.concurrency` workers)
or `dask` (`pip install 'kalshi-lake[dask]'`). With `dask`, a whole pull (the `refresh` flow and its subflows)
shares ONE cluster (`dask_scope`): the scheduler named by Dask's own `DASK_SCHEDULER_ADDRESS`, or a local
cluster of min(cores, streams) worker processes with enough threads each for the run's streams. Before any task
is submitted every worker reports its resolved lake root, account label, key fingerprint (a hash, never the key)
and package version; one that differs from the flow's refuses the run (`ConfigError` naming the worker). The
workers' page counts come back to the flow process as Dask events (`report_progress`, `progress_sink`). Each
worker also reports its *pacer domain* (host name and temp folder: the processes that share one flock'ed rate
bucket); `cluster_shape()` gives the run's (workers, pacer domains), which a split stream's planner uses for
`--split auto` (one shard per worker) and to divide the key's budget among machines (`Shard.rate_share`). The
runner is chosen at run time from settings, so a deployment served by `kalshi-lake serve` follows the
environment of the serving process.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kalshi_extract.errors import ConfigError


@dataclass
class Outcome:
    """One task's result or the exception it ended with."""

    key: str
    result: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def in_flow_run() -> bool:
    """True inside an orchestrated Prefect flow run (False under `.fn`)."""
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def in_prefect_run() -> bool:
    """True inside an orchestrated flow or task run (also in a task on a Dask worker)."""
    from prefect.context import FlowRunContext, TaskRunContext

    return TaskRunContext.get() is not None or FlowRunContext.get() is not None


def logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a run, the `pipelines` logger otherwise."""
    if in_prefect_run():
        from prefect.logging import get_run_logger

        return get_run_logger()
    return logging.getLogger("pipelines")


PROGRESS_TOPIC = "kalshi-lake-progress"
PROGRESS_EVERY_SECONDS = 0.25  # a worker sends a stream's page count at most this often (and at start/end)

_dask_address: ContextVar[str | None] = ContextVar("kalshi_dask_address", default=None)
_dask_shape: ContextVar[tuple[int, int] | None] = ContextVar("kalshi_dask_shape", default=None)
_sink_lock = threading.Lock()
_sink: Callable[..., None] | None = None


def _kind(settings) -> str:
    return (getattr(settings, "task_runner", None) or "threads").lower()


def _import_dask():
    try:
        import dask.config
        import distributed
        from prefect_dask import DaskTaskRunner
    except ImportError:
        raise ConfigError(
            "KALSHI_TASK_RUNNER=dask needs the dask extra: pip install 'kalshi-lake[dask]' "
            "(or uv sync --extra dask)"
        ) from None
    return dask.config, distributed, DaskTaskRunner


def local_cluster_kwargs(settings, streams: int, cores: int | None = None) -> dict:
    """A local cluster sized for one pull: the streams that run at once (at most `settings.concurrency`) spread
    over min(cores, streams) worker processes, each with enough threads for its share. (Prefect-dask's default,
    one process per core per subflow with one thread each, measured 103 s against 19-30 s for threads on 2 cores.)
    """
    cores = max(1, cores or os.cpu_count() or 1)
    at_once = max(1, min(int(streams), int(getattr(settings, "concurrency", 8) or 8)))
    n_workers = min(cores, at_once)
    return {
        "n_workers": n_workers,
        "threads_per_worker": -(-at_once // n_workers),
        "processes": True,
        "dashboard_address": ":0",  # any free port: two pulls on one machine must not clash on 8787
    }


def _resolved(location: str) -> str:
    if "://" in location.removeprefix("file://"):
        return location.rstrip("/")
    return str(Path(location.removeprefix("file://")).expanduser().resolve())


def key_fingerprint(settings) -> str:
    """A short SHA-256 of the key id and the private key's bytes ("none" without a key); never the key."""
    if not getattr(settings, "api_key_id", None):
        return "none"
    digest = hashlib.sha256(settings.api_key_id.encode())
    try:
        if settings.private_key:
            digest.update(settings.private_key.strip().encode())
        elif settings.private_key_path:
            digest.update(Path(settings.private_key_path).expanduser().read_bytes().strip())
    except OSError:
        return "unreadable key file"
    return digest.hexdigest()[:16]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kalshi-lake")
    except PackageNotFoundError:
        return "not installed"


def identity(settings) -> dict[str, str]:
    """What every process of a run must agree on: lake (resolved here), account, key fingerprint, version."""
    return {
        "lake": _resolved(settings.lake_root),
        "account": str(settings.account),
        "key": key_fingerprint(settings),
        "version": _version(),
    }


def worker_identity(sent) -> dict[str, str]:
    """Run on each Dask worker: its own settings' identity (from its environment), plus the flow's lake as this
    worker resolves it (a relative KALSHI_LAKE_DIR lands in the worker's working directory)."""
    from kalshi_extract.settings import Settings

    try:
        own = identity(Settings.load())
    except Exception as exc:  # a worker whose settings do not load is a mismatch, reported in one line
        return {"error": f"its settings do not load ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"}
    own["lake as sent"] = _resolved(sent.lake_root)
    own["pacer domain"] = pacer_domain()
    return own


def pacer_domain() -> str:
    """Which processes share this one's flock'ed rate bucket (`kalshi_extract.api.pacer`): those of the same host
    and temp folder. Two machines never report the same domain; two containers of one machine may report two (then
    they pace at a smaller share than they could: the safe side)."""
    raw = f"{socket.gethostname()}|{tempfile.gettempdir()}|{os.getuid()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def cluster_shape() -> tuple[int, int] | None:
    """(workers, pacer domains) of the checked Dask cluster of this run; None outside `dask_scope`."""
    return _dask_shape.get()


def check_workers(client, settings) -> int:
    """Refuse (`ConfigError`, one line naming the worker) unless every worker of `client`'s cluster matches this
    process's settings; returns how many workers were checked."""
    return _check_workers(client, settings)[0]


def _check_workers(client, settings) -> tuple[int, int]:
    expected = identity(settings)
    reports = client.run(worker_identity, settings)
    if not reports:
        raise ConfigError(f"the Dask cluster at {client.scheduler.address} has no workers")
    names = {a: w.get("name") for a, w in client.scheduler_info().get("workers", {}).items()}
    for address, got in sorted(reports.items()):
        _refuse_mismatch(
            f"Dask worker {names.get(address, address)} ({address})", got, expected, "start the pull"
        )
    domains = {got.get("pacer domain") or address for got in reports.values()}
    return len(reports), len(domains)


def _refuse_mismatch(who: str, got: dict, expected: dict, what: str) -> None:
    if "error" in got:
        raise ConfigError(f"{who}: {got['error']}; refusing to {what}")
    wanted = {**expected, "lake as sent": expected["lake"]}
    diff = [f"{k} {got.get(k)!r} (this run: {wanted[k]!r})" for k in wanted if got.get(k) != wanted[k]]
    if diff:
        raise ConfigError(
            f"{who} does not match this run: {'; '.join(diff)}; refusing to {what} "
            "(give every worker the same KALSHI_LAKE_DIR, KALSHI_ACCOUNT, key and kalshi-lake version)"
        )


def verify_here(settings, expected: dict | None, stream: str) -> None:
    """In a stream task: on a Dask worker (one that joined after `check_workers`, say), refuse the stream unless
    this worker matches `expected` (the flow's `identity`); a no-op elsewhere or without `expected`."""
    worker = _on_dask_worker() if expected else None
    if worker is None:
        return
    who = f"Dask worker {worker.name} ({worker.address})"
    _refuse_mismatch(who, worker_identity(settings), expected, f"pull {stream}")


@contextmanager
def progress_sink(callback: Callable[..., None] | None) -> Iterator[None]:
    """Route stream progress `(stream, pages, rows, status)` of this process's flow runs to `callback` (the CLI's
    display), whether the task ran in a thread here or on a Dask worker."""
    global _sink
    with _sink_lock:
        previous, _sink = _sink, callback
    try:
        yield
    finally:
        with _sink_lock:
            _sink = previous


def _to_sink(stream: str, pages: int, rows: int, status: str | None) -> None:
    callback = _sink
    if callback is not None:
        callback(stream, pages, rows, status)


def _on_dask_worker():
    try:
        from distributed import get_worker

        return get_worker()
    except (ImportError, ValueError):
        return None


def progress_reporter() -> Callable[[str, int, int, str | None], None]:
    """A stream task's progress callback: on a Dask worker it sends events to the flow's process (at most every
    PROGRESS_EVERY_SECONDS per stream, always at start and end), elsewhere it calls the local sink."""
    worker = _on_dask_worker()
    if worker is None:
        return _to_sink
    last: dict[str, float] = {}

    def send(stream: str, pages: int, rows: int, status: str | None = None) -> None:
        now = time.monotonic()
        if status is None and now - last.get(stream, 0.0) < PROGRESS_EVERY_SECONDS:
            return
        last[stream] = now
        worker.log_event(PROGRESS_TOPIC, {"stream": stream, "pages": pages, "rows": rows, "status": status})

    return send


def _from_worker(event) -> None:
    _, msg = event
    _to_sink(msg["stream"], msg["pages"], msg["rows"], msg["status"])


@contextmanager
def dask_scope(settings, streams: int = 1) -> Iterator[str | None]:
    """One Dask cluster for a whole pull (None for the threads runner): nested scopes (the subflows of `refresh`)
    reuse the outer one. Checks every worker before yielding, and forwards the workers' progress events."""
    if _kind(settings) != "dask":
        yield None
        return
    outer = _dask_address.get()
    if outer:
        yield outer
        return
    dask_config, distributed, _ = _import_dask()
    address = dask_config.get("scheduler-address", None)
    cluster = None
    if not address:
        cluster = distributed.LocalCluster(**local_cluster_kwargs(settings, streams))
        address = cluster.scheduler_address
    try:
        with distributed.Client(address, set_as_default=False) as client:
            count, domains = _check_workers(client, settings)
            logger().info(
                "Dask cluster %s: %s workers on %s machine(s) checked (same lake, account, key, version)",
                address,
                count,
                domains,
            )
            client.subscribe_topic(PROGRESS_TOPIC, _from_worker)
            token = _dask_address.set(address)
            shape = _dask_shape.set((count, domains))
            try:
                yield address
            finally:
                _dask_shape.reset(shape)
                _dask_address.reset(token)
                client.unsubscribe_topic(PROGRESS_TOPIC)
    finally:
        if cluster is not None:
            cluster.close()


def make_task_runner(settings, address: str | None = None):
    """The Prefect task runner selected by `settings.task_runner` (Dask: connected to `address`, the cluster
    of `dask_scope`)."""
    kind = _kind(settings)
    workers = max(1, int(getattr(settings, "concurrency", 8) or 8))
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        _, _, DaskTaskRunner = _import_dask()
        if not address:
            raise ConfigError("the Dask task runner runs inside dask_scope (one checked cluster per pull)")
        return DaskTaskRunner(address=address)
    raise ConfigError(f"KALSHI_TASK_RUNNER={kind!r} is not a task runner: use 'threads' or 'dask'")


@contextmanager
def task_runner_scope(settings, streams: int = 1) -> Iterator[Any]:
    """One started task runner for a whole flow run (on the pull's one Dask cluster); None under `.fn`."""
    if not in_flow_run():
        yield None
        return
    with dask_scope(settings, streams) as address:
        with make_task_runner(settings, address) as runner:
            yield runner


def _collect(key: str, future) -> Outcome:
    future.wait()
    value = future.result(raise_on_failure=False)
    if isinstance(value, BaseException):
        return Outcome(key, error=value)
    if future.state.is_failed() or future.state.is_crashed():
        return Outcome(key, error=RuntimeError(future.state.message or "task failed"))
    return Outcome(key, result=value)


def _quoted(parameters: dict) -> dict:
    """Python objects (settings, a selection, the run cache) passed to a task as they are: quoted, Prefect
    neither walks nor copies them (plain values stay visible, e.g. to the `pull_{stream}` run name)."""
    from prefect.utilities.annotations import quote

    plain = (str, int, float, bool, type(None))
    return {k: v if isinstance(v, plain) else quote(v) for k, v in parameters.items()}


def run_tasks(settings, calls: Sequence[tuple[str, Any, dict]], runner=None) -> list[Outcome]:
    """Run `(key, task, parameters)` calls concurrently and collect every outcome, in order.

    Orchestrated: each call becomes a Prefect task run on `runner` (from `task_runner_scope`; a new runner of
    the configured kind when None); task retries apply. Under `.fn`: `task.fn(**parameters)` in a thread pool.
    """
    if not calls:
        return []
    if in_flow_run():
        if runner is None:
            with task_runner_scope(settings) as own:
                return run_tasks(settings, calls, own)
        # Quoted for threads; as they are for Dask, whose task specs turn Prefect's `quote` (a namedtuple) into a
        # bare tuple (the task received `(settings,)`); pickled to the worker, they are its own copies anyway.
        carry = dict if type(runner).__name__ == "DaskTaskRunner" else _quoted
        futures = [(key, runner.submit(task, carry(parameters))) for key, task, parameters in calls]
        return [_collect(key, future) for key, future in futures]
    workers = max(1, min(len(calls), int(getattr(settings, "concurrency", 8) or 8)))

    def _one(call: tuple[str, Any, dict]) -> Outcome:
        key, task, parameters = call
        try:
            return Outcome(key, result=task.fn(**parameters))
        except Exception as exc:  # collected and reported by the flow, like a failed task run
            return Outcome(key, error=exc)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kalshi-task")
    try:
        outcomes = list(pool.map(_one, calls))
    except KeyboardInterrupt:  # start no queued stream; the caller decides how to stop the running ones
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return outcomes


def call_flow(flow_obj, **parameters):
    """Call a subflow: as a Prefect subflow run when orchestrated, else its `.fn`."""
    if in_flow_run():
        return flow_obj(**parameters)
    return flow_obj.fn(**parameters)
