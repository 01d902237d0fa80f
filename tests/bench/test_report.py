"""Targets and the printed/markdown report, from a synthetic results dict (fast; no processes, no server)."""

from __future__ import annotations

from bench.report import MD_END, MD_START, evaluate_targets, render, update_markdown


def _fig(rows, wall, cpu, mem, startup=0.5):
    return {
        "rows": rows,
        "requests": rows // 1000 + 1,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_mem_mb": mem,
        "peak_rss_mb": mem,
        "cpu_us_per_row": cpu / rows * 1e6,
        "rows_per_s": rows / wall,
        "startup_cpu_s": startup,
        "pull_cpu_us_per_row": (cpu - startup) / rows * 1e6,
    }


def _cpu(size, lake, **others):
    contenders = {"kalshi_lake": lake, **others}
    ratios = {
        n: {
            "time": f["wall_s"] / lake["wall_s"],
            "cpu": f["cpu_s"] / lake["cpu_s"],
            "peak_mem": f["peak_mem_mb"] / lake["peak_mem_mb"],
            "rows_per_s": f["rows_per_s"] / lake["rows_per_s"],
        }
        for n, f in others.items()
    }
    return {
        "size": size,
        "trade_paths": ["/markets/trades"],
        "contenders": contenders,
        "reference": "kalshi_lake",
        "ratios_to_kalshi_lake": ratios,
        "same_rows": {"seed_style": {"same": True}, "dlt": {"same": False, "missing": 3}},
    }


def _results():
    big = _cpu(
        1_000_000,
        _fig(1_000_000, 10, 3.5, 120),
        fetch_only=_fig(1_000_000, 5, 2.0, 30),
        seed_style=_fig(1_000_000, 20, 8.0, 1300),
        dlt=_fig(1_000_000, 80, 40.0, 250),
    )
    small = _cpu(300_000, _fig(300_000, 3, 1.2, 118))
    return {
        "date": "2026-11-24T17:00:00+00:00",
        "command": "python -m bench",
        "machine": {"cpus": 2, "loadavg_at_start": (1.0, 1.0, 1.0), "platform": "Linux", "python": "3.11"},
        "scenarios": {
            "rate_limit": {
                "allowed_requests_per_s": 20.0,
                "window_s": 25.0,
                "requests": 500,
                "achieved_requests_per_s": 20.0,
                "rate_ratio": 1.0,
                "allowance_used": 500 / 520,
                "throttled_429": 0,
            },
            "cpu_pull_1000000": big,
            "cpu_pull_300000": small,
        },
        "not_measured": {"incremental": "kalshi_sim.LocalExchange is not available"},
    }


def test_targets_met_and_missed_are_told_apart():
    targets = {t["target"]: t for t in evaluate_targets(_results(), big=1_000_000, small=300_000)}
    assert targets["cpu: client CPU µs/row at 1000000 rows"]["met"] is True  # 3.5 µs/row
    assert targets["cpu: seed_style CPU ÷ kalshi-lake CPU"]["met"] is True  # 8.0 / 3.5
    assert targets["cpu: dlt CPU ÷ kalshi-lake CPU"]["met"] is True  # 40 / 3.5
    assert (
        targets["cpu: kalshi-lake CPU ÷ fetch-only CPU (the floor)"]["met"] is True
    )  # lake within 2x of the floor
    assert targets["memory: peak RSS 1000000 rows ÷ 300000 rows"]["met"] is True
    assert targets["rate: 429s received"]["met"] is True
    assert targets["rate: share of the Basic-tier allowance used (burst-aware)"]["met"] is True
    assert targets["rows: dlt produced exactly the lake's rows"]["met"] is False
    assert "missing" in targets["rows: dlt produced exactly the lake's rows"]["note"]
    assert not any("incremental" in t for t in targets)  # not measured → no target row

    worse = _results()
    worse["scenarios"]["cpu_pull_1000000"]["contenders"]["kalshi_lake"] = _fig(1_000_000, 10, 6.0, 260)
    worse["scenarios"]["rate_limit"]["throttled_429"] = 4
    t2 = {t["target"]: t for t in evaluate_targets(worse, big=1_000_000, small=300_000)}
    assert t2["cpu: client CPU µs/row at 1000000 rows"]["met"] is False
    assert t2["memory: kalshi-lake peak RSS MB at 1000000 rows"]["met"] is False
    assert t2["memory: peak RSS 1000000 rows ÷ 300000 rows"]["met"] is False
    assert t2["rate: 429s received"]["met"] is False


def test_render_and_markdown_block(tmp_path):
    res = _results()
    res["targets"] = evaluate_targets(res, big=1_000_000, small=300_000)
    text = render(res)
    assert "CPU-bound pull, 1,000,000 trades" in text and "MISSED" in text and "Not measured:" in text
    md = tmp_path / "BENCHMARKS.md"
    md.write_text(
        f"# Benchmarks\n\nintro kept\n\n{MD_START}\nold figures\n{MD_END}\n\n## Findings\nkept too\n"
    )
    update_markdown(str(md), res)
    out = md.read_text()
    assert "old figures" not in out and "intro kept" in out and "kept too" in out
    assert out.count(MD_START) == 1 and "2026-11-24T17:00:00+00:00" in out
