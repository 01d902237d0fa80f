"""A real S3-compatible server for the S3 lake tests: moto's server (PyPI ``moto[server]``), started on loopback
on a free port in its own process for the session, and killed at the end.

- ``s3_server``: the endpoint URL. The standard AWS variables (``AWS_ENDPOINT_URL``, dummy keys, region) are set in
  this process's environment for the session, so pyarrow, s3fs, DuckDB-through-fsspec and every child process
  (pulls, the CLI) reach it; nothing else is configured, as a user's machine would be.
- ``s3_lake_dir``: a fresh bucket per test, as ``s3://<bucket>/k`` (a ``KALSHI_LAKE_DIR``).
- ``S3Server.requests()``: how many requests the server has answered so far (lines of its access log).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto(log_path: str | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``moto_server`` on loopback (a free port); returns (process, endpoint URL) once it answers."""
    port = _free_port()
    out = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"moto's S3 server did not start on {url}") from None
            time.sleep(0.1)
    return proc, url


class S3Server(str):
    """The endpoint URL (a str), with the server's access log."""

    log: str

    def requests(self) -> int:
        return count_requests(self.log)


def count_requests(log: str) -> int:
    with open(log, "rb") as fh:
        return sum(1 for line in fh if b'HTTP/1.1" ' in line)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    proc, url = start_moto(str(log))
    url = S3Server(url)
    url.log = str(log)
    saved = {k: os.environ.get(k) for k in [*AWS_ENV, "AWS_ENDPOINT_URL"]}
    os.environ.update({**AWS_ENV, "AWS_ENDPOINT_URL": url})
    try:
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=30)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def new_bucket() -> str:
    import s3fs

    name = f"kl-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(skip_instance_cache=True).mkdir(name)
    return name


@pytest.fixture
def s3_lake_dir(s3_server) -> str:
    return f"s3://{new_bucket()}/k"
