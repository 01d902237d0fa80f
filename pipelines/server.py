"""A Prefect server for `kalshi-lake serve` when none is configured.

Prefect's temporary ("ephemeral") server, which Prefect starts when `PREFECT_API_URL` is unset, runs no scheduler:
deployments register, but their cron schedules never produce a flow run. So `serve` without a configured server
starts a real one: `prefect server start` on a free loopback port, as a child process in its own process group,
with its output in a log file; `PREFECT_API_URL` points this process at it; on exit (Ctrl-C included) the server
is stopped. With `PREFECT_API_URL` set, that server is used and nothing is started.

Imports no Prefect: the URL must be in the environment before Prefect is imported (it reads its settings then).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kalshi_extract.errors import ConfigError

STARTUP_TIMEOUT_SECONDS = 180.0  # a first start migrates a new database; slow on a busy 2-core machine
# no usage analytics, no telemetry reporting from a machine that may have no internet
QUIET = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def ui_url(api_url: str) -> str:
    """The Prefect UI's address for an API URL: Prefect Cloud's app for its API, else the API's without ``/api``."""
    from urllib.parse import urlsplit

    parts = urlsplit(api_url)
    if parts.hostname == "api.prefect.cloud":
        return "https://app.prefect.cloud"
    path = parts.path.rstrip("/").removesuffix("/api")
    return f"{parts.scheme}://{parts.netloc}{path}"


@contextmanager
def prefect_api(log=print) -> Iterator[str]:
    """The Prefect API URL to serve against: `PREFECT_API_URL`, or a server started for the block's duration."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        yield configured
        return
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    log_path = Path(tempfile.gettempdir()) / f"kalshi-lake-prefect-server-{port}.log"
    prefect = Path(sys.executable).with_name("prefect")
    cmd = [
        str(prefect) if prefect.exists() else sys.executable,
        *([] if prefect.exists() else ["-m", "prefect"]),
    ]
    cmd += ["server", "start", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        log(
            f"starting a local Prefect server (UI and scheduler) at http://127.0.0.1:{port} (log: {log_path})"
        )
        _wait_until_up(proc, url, log_path)
        os.environ["PREFECT_API_URL"] = url
        yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        _stop(proc)


def _wait_until_up(proc: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not _healthy(url):
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise ConfigError(f"the local Prefect server exited at start ({tail[0][:200]}); see {log_path}")
        if time.monotonic() > deadline:
            raise ConfigError(
                f"the local Prefect server did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s; see {log_path}"
            )
        time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass
