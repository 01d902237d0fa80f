"""The benchmark harness cannot rot: its measuring, its row check and a tiny end-to-end run are tested here.

Nothing here times anything against a threshold (speed targets live in bench/, reported, never asserted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from bench.common import child_env, run_child
from bench.compare import compare, load_trades

REPO = Path(__file__).resolve().parents[2]


def _trades(n: int) -> pa.Table:
    return pa.table(
        {
            "trade_id": [f"t{i:05d}" for i in range(n)],
            "ticker": ["KX-A"] * n,
            "count_fp": [f"{i}.50" for i in range(n)],
            "yes_price_dollars": ["0.5600"] * n,
            "no_price_dollars": ["0.4400"] * n,
            "taker_outcome_side": ["yes"] * n,
            "taker_book_side": ["bid"] * n,
            "created_time": [f"2026-11-24T10:00:{i % 60:02d}.5Z" for i in range(n)],
            "is_block_trade": [False] * n,
        }
    )


def _write(table: pa.Table, path: Path) -> Path:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def test_compare_normalises_types_and_finds_differences(tmp_path):
    strings = load_trades(_write(_trades(50), tmp_path / "a" / "t.parquet"))
    # the same rows typed the lake's way compare equal to the strings
    typed = strings.cast(strings.schema)
    assert typed.schema.field("count_fp").type == pa.decimal128(18, 2)
    assert compare(strings, typed)["same"] is True
    res = compare(strings, strings.slice(0, 49))
    assert res["same"] is False and res["missing"] == 1
    dup = pa.concat_tables([strings, strings.slice(0, 1)])
    assert compare(strings, dup)["duplicates"] == 1 and not compare(strings, dup)["same"]
    changed = strings.set_column(
        2,
        "count_fp",
        pa.array([Decimal("0.01")] + strings.column("count_fp").to_pylist()[1:], pa.decimal128(18, 2)),
    )
    res = compare(strings, changed)
    assert res["same"] is False and res["mismatched_values"] == 1


def test_load_trades_rejects_output_without_trade_columns(tmp_path):
    _write(pa.table({"trade_id": ["x"]}), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="missing"):
        load_trades(tmp_path / "bad.parquet")


def test_run_child_measures_the_child_not_the_harness(tmp_path):
    # the harness has pyarrow loaded (well over 60 MB); a bare child must not inherit that peak
    code = "import sys, json; b = bytearray(150 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print(json.dumps({'ok': 1}))"
    big = _run_code(tmp_path, code)
    tiny = _run_code(tmp_path, "import json; print(json.dumps({'ok': 1}))")
    assert big.returncode == 0 and big.summary == {"ok": 1}
    assert big.peak_rss_bytes >= 150 * 1024 * 1024
    assert tiny.peak_rss_bytes < 60 * 1024 * 1024, tiny.peak_rss_bytes
    burn = _run_code(
        tmp_path, "import json\nx = 0\nfor i in range(3_000_000): x += i\nprint(json.dumps({'x': x}))"
    )
    assert burn.cpu_s > 0.05 and burn.cpu_s <= burn.wall_s * 2.5
    failing = _run_code(tmp_path, "raise SystemExit(3)")
    assert failing.returncode == 3
    with pytest.raises(Exception, match="status 3"):
        failing.check()


def _run_code(tmp_path: Path, code: str):
    (tmp_path / "bench_test_child.py").write_text(code)
    env = child_env({"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"})
    return run_child("code", "bench_test_child", [], env=env, timeout=120)


def _available_baselines() -> list[str]:
    """fetch_only always; seed_style and dlt when the bench dependency group is installed (CI syncs only dev)."""
    import importlib.util

    names = ["fetch_only"]
    if importlib.util.find_spec("pandas"):
        names.append("seed_style")
    if importlib.util.find_spec("dlt"):
        names.append("dlt")
    return names


@pytest.mark.slow
def test_harness_end_to_end_against_dev_server(tmp_path):
    """Baselines only (no local exchange needed): tiny sizes, JSON results, rows cross-checked."""
    out = tmp_path / "results.json"
    baselines = _available_baselines()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--dev-server",
            "--only",
            "cpu",
            "--baselines",
            ",".join(baselines),
            "--small-baselines",
            "fetch_only",
            "--results",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=child_env(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    res = json.loads(out.read_text())
    big = res["scenarios"]["cpu_pull_20000"]
    assert big["contenders"]["fetch_only"]["rows"] == 20_000
    assert res["scenarios"]["cpu_pull_5000"]["contenders"]["fetch_only"]["rows"] == 5_000
    for name in baselines:
        fig = big["contenders"][name]
        assert fig["cpu_s"] > 0 and fig["peak_rss_mb"] > 5, fig
    if "seed_style" in baselines:
        assert big["same_rows"]["fetch_only"]["same"] is True
    if "dlt" in baselines:
        assert big["same_rows"]["dlt"]["same"] is True, big["same_rows"]["dlt"]
    assert "CPU-bound pull, 20,000 trades" in proc.stdout


@pytest.mark.slow
def test_harness_end_to_end_against_local_exchange(tmp_path):
    """Every scenario at a tiny size against kalshi_sim and kalshi-lake itself."""
    pytest.importorskip("kalshi_sim", reason="local exchange not built yet")
    pytest.importorskip("kalshi_extract.ingest.pull", reason="lake pull not built yet")
    out = tmp_path / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--quick",
            "--baselines",
            ",".join(_available_baselines()),
            "--small-baselines",
            "fetch_only",
            "--results",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        env=child_env(),
    )
    res = json.loads(out.read_text())
    assert res["not_measured"] == {}, proc.stdout + proc.stderr
    assert proc.returncode == 0
    big = res["scenarios"]["cpu_pull_20000"]
    assert big["contenders"]["kalshi_lake"]["rows"] > 0
    for name in _available_baselines():
        if name != "fetch_only":
            assert big["same_rows"][name]["same"] is True, big["same_rows"][name]
    assert res["scenarios"]["rate_limit"]["requests"] > 0
    assert res["scenarios"]["incremental"]["no_change"]["requests"] >= 0
    assert {t["target"] for t in res["targets"]}
