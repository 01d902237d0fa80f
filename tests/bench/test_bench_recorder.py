"""`bench.bench_recorder` at a tiny size: both contenders receive the same frames, the recorder lands them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_recorder_bench_runs_both_contenders_on_the_same_frames(tmp_path, monkeypatch):
    from bench.bench_recorder import recorder_bench, render

    monkeypatch.setenv("BENCH_WORK_DIR", str(tmp_path))
    out = recorder_bench(markets=10, hours=1.0, size="small", seed=7)
    raw, rec = out["figures"]["websockets_raw"], out["figures"]["recorder"]
    assert raw["messages"] > 0
    assert rec["messages"] == raw["messages"]  # same seed, same steps: the same frames
    assert rec["gaps"] == 0 and rec["dropped"] == 0
    assert rec["rows_landed"]["ws_book"] > 0
    assert rec["cpu_us_per_msg"] > 0 and rec["peak_rss_mb"] > 5
    assert "recorder rows landed" in render(out)
