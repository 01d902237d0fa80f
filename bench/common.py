"""Measurement utilities for the benchmarks: run one contender in a CHILD process and measure it from outside.

Every contender (kalshi-lake and each baseline) runs as ``python -m <module> ...`` in its own process, so the
figures cover the whole client process, interpreter start-up and imports included, and nothing of the harness or
of the local exchange (which runs in a process of its own too).

How each figure is taken:
- wall time: ``time.perf_counter()`` around spawn → reap, in the parent.
- CPU seconds: user + system time from ``os.wait4(pid)`` — the kernel's rusage of that one child (plus any
  descendants it reaped), exact and free of sampling error.
- peak RSS: ``ru_maxrss`` from the same ``wait4`` call (KiB on Linux), cross-checked by sampling the RSS of the
  child's whole process tree with psutil every ``sample_interval`` seconds (catches memory held by grandchildren
  that were not reaped).
- the contender's own summary: the child prints one JSON object as the LAST line of its stdout (rows, requests,
  pages, output location...). ``emit_summary`` is the helper children use for it.

Nothing here decides what is "fast": ratios are computed by the harness from figures taken in the same run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
WORK_DIR = REPO_ROOT / "bench" / "_work"  # git-ignored scratch space for lakes and baseline outputs


class BenchError(RuntimeError):
    """A contender failed or produced output the harness cannot use; the message says which and why."""


@dataclass
class ChildResult:
    """What one child process cost and what it reported about itself."""

    name: str
    argv: list[str]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_bytes: int  # ru_maxrss of the child (kernel, exact)
    sampled_peak_rss_bytes: int  # max RSS of the child's process tree seen by psutil sampling
    summary: dict[str, Any] = field(default_factory=dict)
    stderr_tail: str = ""
    timed_out: bool = False

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    @property
    def peak_mem_bytes(self) -> int:
        """The larger of the two peak-memory observations."""
        return max(self.peak_rss_bytes, self.sampled_peak_rss_bytes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cpu_s"] = self.cpu_s
        d["peak_mem_bytes"] = self.peak_mem_bytes
        return d

    def check(self) -> ChildResult:
        """Raise BenchError unless the child exited 0 and printed a summary."""
        if self.timed_out:
            raise BenchError(f"{self.name}: killed after the time limit ({self.wall_s:.0f} s)\n{self.stderr_tail}")
        if self.returncode != 0:
            raise BenchError(f"{self.name}: exited with status {self.returncode}\n{self.stderr_tail}")
        if not self.summary:
            raise BenchError(f"{self.name}: printed no JSON summary on its last stdout line\n{self.stderr_tail}")
        return self


def _tree_rss(proc: Any) -> int:
    import psutil

    total = 0
    try:
        total += proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child: ours minus every KALSHI_* variable (so no setting leaks in), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    if extra:
        env.update(extra)
    return env


def run_child(
    name: str,
    module: str,
    args: list[str],
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    sample_interval: float = 0.05,
) -> ChildResult:
    """Run ``python -m module *args`` as a child process and measure it (see the module docstring)."""
    import psutil

    argv = [sys.executable, "-m", module, *args]
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or child_env(), cwd=str(REPO_ROOT)
    )
    readers = [
        threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True),
        threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()), daemon=True),
    ]
    for r in readers:
        r.start()

    sampled_peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal sampled_peak
        try:
            p = psutil.Process(proc.pid)
        except psutil.Error:
            return
        while not done.is_set():
            sampled_peak = max(sampled_peak, _tree_rss(p))
            done.wait(sample_interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    timed_out = False

    def kill_on_timeout() -> None:
        nonlocal timed_out
        if not done.wait(timeout):
            timed_out = True
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    if timeout:
        threading.Thread(target=kill_on_timeout, daemon=True).start()

    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    returncode = os.waitstatus_to_exitcode(status)
    proc.returncode = returncode  # reaped by wait4: tell Popen so it does not try again
    for r in readers:
        r.join(timeout=10)
    sampler.join(timeout=2)
    stdout = b"".join(out_chunks).decode("utf-8", "replace")
    stderr = b"".join(err_chunks).decode("utf-8", "replace")
    summary: dict[str, Any] = {}
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                summary = json.loads(line)
            except json.JSONDecodeError:
                pass
            break
    return ChildResult(
        name=name,
        argv=argv,
        returncode=returncode,
        wall_s=wall,
        user_s=ru.ru_utime,
        sys_s=ru.ru_stime,
        peak_rss_bytes=ru.ru_maxrss * 1024,  # Linux reports KiB
        sampled_peak_rss_bytes=sampled_peak,
        summary=summary,
        stderr_tail=stderr[-4000:],
        timed_out=timed_out,
    )


def emit_summary(**fields: Any) -> None:
    """Print the child's summary as the last stdout line (the harness reads it)."""
    sys.stdout.write(json.dumps(fields, default=str) + "\n")
    sys.stdout.flush()


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None when either is missing or b is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def mb(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else n_bytes / 1e6
