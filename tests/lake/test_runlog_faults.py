"""The run log under faults (issue 17, item 6): a disk that fills up, a kill inside the run-log commit, temp files
left by kills. The disk-full test mounts a tiny tmpfs in a user namespace (``unshare -rm``); it is skipped where
that is not allowed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from kalshi_extract.ingest.pull import Selection, pull_stream
from kalshi_extract.ingest.status import lake_status
from kalshi_extract.lake.run_log import read_runs
from kalshi_extract.settings import Settings
from tests.lake.helpers import client_and_lake

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


def _child(env: dict, mode: str, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tests.lake.crash_child", json.dumps(env), mode]
    return subprocess.run((prefix or []) + cmd, capture_output=True, text=True, cwd=REPO, timeout=240)


@pytest.mark.skipif(not _unshare_works(), reason="needs unshare -rm to mount a small tmpfs")
def test_disk_full_logs_the_failure_counts_only_landed_rows_and_leaves_no_temp_files(exchange, tmp_path):
    acct = exchange.create_account(balance_cents=1_000_000)
    mount = tmp_path / "small"
    mount.mkdir()
    env = {**acct.env, "KALSHI_LAKE_DIR": str(mount / "data"), "KALSHI_CONCURRENCY": "4"}
    # the lake fills 100 KiB after about a third of the trades (a full pull takes ~300 KiB)
    shell = f'mount -t tmpfs -o size=100k tmpfs {mount} && exec "$0" "$@"'
    done = _child(env, "diskfull", ["unshare", "-rm", "sh", "-c", shell])
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["outcome"] == "failed" and "No space left" in report["error"], report
    expected = [{"outcome": "failed", "rows": report["on_disk"], "error": report["error"]}]
    assert report["runs"] == expected, done.stderr[-3000:]
    assert report["rows"] == report["on_disk"]  # only rows that landed are reported
    assert report["leftovers"] == []


def test_a_kill_inside_the_run_log_commit_is_a_completed_run(exchange, tmp_path):
    acct = exchange.create_account(balance_cents=1_000_000)
    client, lake, env = client_and_lake(acct, tmp_path / "data")
    killed = _child(env, "kill-at-runlog")
    assert killed.returncode == -9, killed.stderr[-3000:]
    pending = os.listdir(os.path.join(lake.root, "_commits"))
    assert len(pending) == 1 and pending[0].startswith("_runs--")  # the row's commit record, not applied

    # the record is the commit: status sees a completed run at once, not an interrupted one
    runs = read_runs(lake)
    assert [(r["stream"], r["outcome"]) for r in runs] == [("trades", "ok")]
    assert runs[0]["rows"] == lake.read("trades").num_rows > 0
    settings = Settings.load(environ={**env})
    trades = {s["stream"]: s for s in lake_status(settings)["streams"]}["trades"]
    assert trades["last_outcome"] == "ok" and trades["interrupted_runs"] == []

    # the next run-log row (any stream's) finishes the commit and leaves nothing behind
    assert pull_stream(client, lake, "exchange_status", Selection()).ok
    assert os.listdir(os.path.join(lake.root, "_commits")) == []
    assert os.listdir(os.path.join(lake.root, "_tmp")) == []
    assert [r["stream"] for r in read_runs(lake)] == ["trades", "exchange_status"]


def test_the_next_lock_deletes_temp_files_a_killed_writer_left(tmp_path):
    from kalshi_extract.lake.store import Lake

    lake = Lake(str(tmp_path / "lake"))
    garbage = {
        "_tmp": ["trades--0badc0de.parquet.tmp"],
        "_commits": [".trades--00000000000000000001-abcdef.json.1234abcd.tmp"],
        "_state": [".trades.json.1234abcd.tmp"],
    }
    others = {"_tmp": ["markets--0badc0de.parquet.tmp"], "_state": [".markets.json.1234abcd.tmp"]}
    for group in (garbage, others):
        for folder, names in group.items():
            os.makedirs(os.path.join(lake.root, folder), exist_ok=True)
            for name in names:
                with open(os.path.join(lake.root, folder, name), "wb") as f:
                    f.write(b"half")
    with lake.lock("trades"):
        pass
    for folder, names in garbage.items():
        for name in names:
            assert not os.path.exists(os.path.join(lake.root, folder, name)), name
    # another stream's temp files may belong to a live writer of that stream: untouched
    for folder, names in others.items():
        for name in names:
            assert os.path.exists(os.path.join(lake.root, folder, name)), name
