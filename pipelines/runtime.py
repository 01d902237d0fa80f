"""How the flows run their tasks: orchestrated by Prefect, or plainly through `.fn`.

Inside a Prefect flow run the tasks are submitted to a task runner so the UI shows one task run per stream;
under a flow's `.fn` (the same code without Prefect's API, whose ephemeral server costs 10-20 s per process to
start) the task functions (`task.fn`) run in a thread pool. Either way a failed stream does not stop the others:
every outcome is collected. (The CLI does not come through here: it calls `kalshi_extract.ingest.run`.)

Task runner (`KALSHI_TASK_RUNNER`): `threads` (default, `settings.concurrency` workers) or `dask`
(`pip install 'kalshi-lake[dask]'`; a local Dask cluster, or the scheduler named by Dask's own
`DASK_SCHEDULER_ADDRESS`). The runner is chosen at run time from settings, so a deployment served by
`kalshi-lake serve` follows the environment of the serving process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
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


def make_task_runner(settings):
    """The Prefect task runner selected by `settings.task_runner`."""
    kind = (getattr(settings, "task_runner", None) or "threads").lower()
    workers = max(1, int(getattr(settings, "concurrency", 8) or 8))
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=workers)
    if kind == "dask":
        try:
            import dask.config
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ConfigError(
                "KALSHI_TASK_RUNNER=dask needs the dask extra: pip install 'kalshi-lake[dask]' "
                "(or uv sync --extra dask)"
            ) from None
        address = dask.config.get("scheduler-address", None)
        if address:
            return DaskTaskRunner(address=address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})
    raise ConfigError(f"KALSHI_TASK_RUNNER={kind!r} is not a task runner: use 'threads' or 'dask'")


@contextmanager
def task_runner_scope(settings) -> Iterator[Any]:
    """One started task runner for a whole flow run (one Dask cluster, not one per wave); None under `.fn`."""
    if not in_flow_run():
        yield None
        return
    with make_task_runner(settings) as runner:
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
        futures = [(key, runner.submit(task, _quoted(parameters))) for key, task, parameters in calls]
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
