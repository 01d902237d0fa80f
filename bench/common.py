"""Measurement utilities for the benchmarks: run one contender in a CHILD process and measure it from outside.

Every contender (kalshi-lake and each baseline) runs as ``python -m <module> ...`` in its own process, so the
figures cover the whole client process, interpreter start-up and imports included, and nothing of the harness or
of the local exchange (which runs in a process of its own too).

How each figure is taken:
- a tiny launcher process (``_LAUNCHER``, see why there) forks and execs the contender and reaps it with
  ``os.wait4``, which returns the kernel's rusage of that one process (plus any descendants it reaped).
- wall time: ``time.perf_counter()`` in the launcher around fork → reap.
- CPU seconds: user + system time from that rusage — exact, free of sampling error.
- peak RSS: ``ru_maxrss`` from the same rusage (KiB on Linux), cross-checked by sampling the RSS of the
  contender's whole process tree with psutil every ``sample_interval`` seconds (catches memory held by
  grandchildren that were not reaped).
- the contender's own summary: the child prints one JSON object as the LAST line of its stdout (rows, requests,
  pages, output location...). ``emit_summary`` is the helper children use for it.

Nothing here decides what is "fast": ratios are computed by the harness from figures taken in the same run.
"""

from __future__ import annotations

import contextlib
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
WORK_DIR = REPO_ROOT / "bench" / "_work"  # git-ignored scratch space: bytecode cache, default run directory


def work_dir() -> Path:
    """Where a run keeps its lakes and baseline outputs: ``$BENCH_WORK_DIR`` (``--work-dir``) or bench/_work/run.

    Separate runs (a developer's, a test suite's) must not share it: each wipes its scenario directories."""
    d = Path(os.environ.get("BENCH_WORK_DIR") or WORK_DIR / "run")
    d.mkdir(parents=True, exist_ok=True)
    return d


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
            raise BenchError(
                f"{self.name}: killed after the time limit ({self.wall_s:.0f} s)\n{self.stderr_tail}"
            )
        if self.returncode != 0:
            raise BenchError(f"{self.name}: exited with status {self.returncode}\n{self.stderr_tail}")
        if not self.summary:
            raise BenchError(
                f"{self.name}: printed no JSON summary on its last stdout line\n{self.stderr_tail}"
            )
        return self


def _children_rss(proc: Any) -> int:
    """RSS of every descendant of ``proc`` (not ``proc`` itself: that is the launcher)."""
    import psutil

    total = 0
    try:
        kids = proc.children(recursive=True)
    except psutil.Error:
        return 0
    for child in kids:
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total


# A tiny launcher between the harness and each contender. Why: a process's ru_maxrss starts from the RSS of the
# process it was forked from (Linux records the old memory map's high-water mark at exec, and Python spawns with
# vfork, i.e. in the parent's memory). Forked from the harness (pyarrow loaded, >100 MB) every contender would
# "peak" at the harness's size. Forked from this launcher (python -S, ~10 MB) the floor is far below any contender.
_LAUNCHER = r"""
import os, sys, time
fd = int(sys.argv[1]); argv = sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
code = os.waitstatus_to_exitcode(status)
os.write(fd, ("%r %r %r %r %r" % (code, wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss)).encode())
os.close(fd)
"""


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a child: ours minus every KALSHI_* variable (so no setting leaks in), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")}
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("PYTHONHASHSEED", "0")
    # Warm start, as on a user's machine after the first run: bytecode is cached. (This environment sets
    # PYTHONDONTWRITEBYTECODE, which makes every process recompile pandas, pyarrow's wrappers, dlt... from source:
    # seconds of CPU that no user pays.) The cache lives in bench/_work, never in the shared virtualenv.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK_DIR / "pycache")
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
    argv = [sys.executable, "-m", module, *args]
    return run_process(name, argv, env=env, timeout=timeout, sample_interval=sample_interval)


def run_process(
    name: str,
    argv: list[str],
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    sample_interval: float = 0.05,
) -> ChildResult:
    """Run ``argv`` (a full command line) as a child process and measure it (see the module docstring)."""
    import psutil

    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []
    cwd = work_dir()
    r_fd, w_fd = os.pipe()
    t0 = time.perf_counter()
    # cwd is the scratch dir so that no ./kalshi-lake.toml of the developer's can reach a contender
    proc = subprocess.Popen(
        [sys.executable, "-S", "-c", _LAUNCHER, str(w_fd), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env or child_env(),
        cwd=str(cwd),
        pass_fds=(w_fd,),
        start_new_session=True,
    )
    os.close(w_fd)
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
            sampled_peak = max(sampled_peak, _children_rss(p))
            done.wait(sample_interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timed_out = False

    def kill_on_timeout() -> None:
        nonlocal timed_out
        if not done.wait(timeout):
            timed_out = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    if timeout:
        threading.Thread(target=kill_on_timeout, daemon=True).start()

    with os.fdopen(r_fd, "rb") as report_pipe:
        report = report_pipe.read().decode()
    proc.wait()
    parent_wall = time.perf_counter() - t0
    done.set()
    for r in readers:
        r.join(timeout=10)
    sampler.join(timeout=2)
    if report:
        code_s, wall_s, user_s, sys_s, maxrss_s = report.split()
        returncode, wall, user, sys_t, maxrss = (
            int(code_s),
            float(wall_s),
            float(user_s),
            float(sys_s),
            int(maxrss_s),
        )
    else:  # the launcher itself was killed (timeout)
        returncode, wall, user, sys_t, maxrss = proc.returncode or -9, parent_wall, 0.0, 0.0, 0
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
        user_s=user,
        sys_s=sys_t,
        peak_rss_bytes=maxrss * 1024,  # Linux reports KiB
        sampled_peak_rss_bytes=sampled_peak,
        summary=summary,
        stderr_tail=stderr[-4000:],
        timed_out=timed_out,
    )


def cpu_seconds() -> float:
    """CPU (user + system) this process has used so far; children call it once their imports are done."""
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


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
