"""Targets of issue #9 checked against a results dict, and the plain-text table ``python -m bench`` prints."""

from __future__ import annotations

from typing import Any

# flat memory: the big run's peak may exceed the small run's by at most this factor
FLAT_RSS_FACTOR = 1.10


def _target(name: str, value: Any, goal: str, met: bool | None, note: str = "") -> dict[str, Any]:
    return {"target": name, "value": value, "goal": goal, "met": met, "note": note}


def evaluate_targets(results: dict[str, Any], big: Any, small: Any) -> list[dict[str, Any]]:
    """Every target of issue #9 that the results allow checking; ``met`` None when it could not be measured."""
    sc = results.get("scenarios", {})
    out: list[dict[str, Any]] = []

    rl = sc.get("rate_limit")
    if rl:
        v = rl.get("allowance_used")
        out.append(
            _target(
                "rate: share of the Basic-tier allowance used (burst-aware)",
                v,
                ">= 0.95",
                None if v is None else v >= 0.95,
                f"raw achieved/allowed rate {rl.get('rate_ratio') or 0:.3f}",
            )
        )
        out.append(_target("rate: 429s received", rl.get("throttled_429"), "0", rl.get("throttled_429") == 0))

    cb, cs = sc.get(f"cpu_pull_{big}"), sc.get(f"cpu_pull_{small}")
    lake_b = (cb or {}).get("contenders", {}).get("kalshi_lake")
    lake_s = (cs or {}).get("contenders", {}).get("kalshi_lake")
    if lake_b:
        v = lake_b["cpu_us_per_row"]
        out.append(_target(f"cpu: client CPU µs/row at {big} rows", v, "<= 4", None if v is None else v <= 4))
        r = cb["ratios_to_kalshi_lake"]
        fetch = (r.get("fetch_only") or {}).get("cpu")
        out.append(
            _target(
                "cpu: kalshi-lake CPU ÷ fetch-only CPU (the floor)",
                None if not fetch else 1 / fetch,
                "<= 2",
                None if not fetch else 1 / fetch <= 2,
            )
        )
        for name, goal in (("seed_style", ">= 2"), ("dlt", ">= 10")):
            x = (r.get(name) or {}).get("cpu")
            floor = float(goal.split()[-1])
            out.append(
                _target(f"cpu: {name} CPU ÷ kalshi-lake CPU", x, goal, None if x is None else x >= floor)
            )
        for name in ("seed_style", "dlt"):
            x = (r.get(name) or {}).get("rows_per_s")
            out.append(
                _target(f"wall: {name} rows/s ÷ kalshi-lake rows/s", x, "<= 1", None if x is None else x <= 1)
            )
        out.append(
            _target(
                f"memory: kalshi-lake peak RSS MB at {big} rows",
                lake_b["peak_mem_mb"],
                "<= 200",
                lake_b["peak_mem_mb"] <= 200,
            )
        )
        for name, cmp in (cb.get("same_rows") or {}).items():
            out.append(
                _target(
                    f"rows: {name} produced exactly the lake's rows",
                    cmp.get("same"),
                    "True",
                    bool(cmp.get("same")),
                    "" if cmp.get("same") else str(cmp),
                )
            )
    nop_b = (cb or {}).get("contenders", {}).get("kalshi_lake_nopandas")
    nop_s = (cs or {}).get("contenders", {}).get("kalshi_lake_nopandas")
    if nop_b:
        v = nop_b["cpu_us_per_row"]
        out.append(
            _target(
                f"cpu: plain install (no pandas) CPU µs/row at {big} rows",
                v,
                "<= 4",
                None if v is None else v <= 4,
            )
        )
        out.append(
            _target(
                f"memory: plain install (no pandas) peak RSS MB at {big} rows",
                nop_b["peak_mem_mb"],
                "<= 200",
                nop_b["peak_mem_mb"] <= 200,
            )
        )
        if nop_s:
            f = nop_b["peak_mem_mb"] / nop_s["peak_mem_mb"]
            out.append(
                _target(
                    f"memory: plain install peak RSS {big} rows ÷ {small} rows",
                    f,
                    f"<= {FLAT_RSS_FACTOR}",
                    f <= FLAT_RSS_FACTOR,
                )
            )
    if lake_b and lake_s:
        f = lake_b["peak_mem_mb"] / lake_s["peak_mem_mb"]
        out.append(
            _target(
                f"memory: peak RSS {big} rows ÷ {small} rows",
                f,
                f"<= {FLAT_RSS_FACTOR}",
                f <= FLAT_RSS_FACTOR,
            )
        )

    st = sc.get("startup")
    if st:
        for name in st["commands"]:
            v = st["figures"][name]["cpu_s"]
            out.append(
                _target(f"start-up CPU s: {name}", v, f"< {st['target_cpu_s']:g}", v < st["target_cpu_s"])
            )
    inc = sc.get("incremental")
    if inc:
        v = inc.get("no_change_max_requests_per_partition")
        out.append(
            _target(
                "incremental: no-change requests per stream partition (worst stream)",
                v,
                "<= 2",
                None if v is None else v <= 2,
            )
        )
    return out


def _f(x: Any, fmt: str = "{:,.2f}") -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, int | float):
        return fmt.format(x)
    return str(x)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def render(results: dict[str, Any]) -> str:
    """The human table: one block per scenario, then the targets, then what was not measured."""
    parts = [
        f"kalshi-lake benchmarks  {results['date']}  ({results['machine']['cpus']} CPUs, "
        f"load {results['machine']['loadavg_at_start'][0]:.2f})"
    ]
    sc = results.get("scenarios", {})
    rl = sc.get("rate_limit")
    if rl:
        parts.append(
            f"\nRate limit (Basic tier, {rl['allowed_requests_per_s']:.0f} req/s allowed, {rl['window_s']:.1f} s): "
            f"{rl['requests']} requests, {_f(rl['achieved_requests_per_s'])} req/s, "
            f"rate ratio {_f(rl['rate_ratio'], '{:.3f}')}, allowance used {_f(rl['allowance_used'], '{:.3f}')}, "
            f"429s {rl['throttled_429']}"
        )
    for key, val in sc.items():
        if not key.startswith("cpu_pull_"):
            continue
        rows = []
        ratios = val.get("ratios_to_kalshi_lake", {})
        for name, c in val["contenders"].items():
            r = ratios.get(name, {})
            same = (val.get("same_rows") or {}).get(name, {}).get("same")
            rows.append(
                [
                    name,
                    _f(c["rows"], "{:,}"),
                    _f(c.get("requests"), "{:,}"),
                    _f(c["wall_s"]),
                    _f(c["cpu_s"]),
                    _f(c["cpu_us_per_row"]),
                    _f(c.get("pull_cpu_us_per_row")),
                    _f(c["rows_per_s"], "{:,.0f}"),
                    _f(c["peak_mem_mb"], "{:,.0f}"),
                    _f(r.get("time")),
                    _f(r.get("cpu")),
                    _f(r.get("peak_mem")),
                    "ref" if name == val.get("reference") else _f(same),
                ]
            )
        parts.append(
            f"\nCPU-bound pull, {val['size']:,} trades, no rate limit (paths {', '.join(val['trade_paths'])})"
        )
        parts.append(
            _table(
                [
                    "contender",
                    "rows",
                    "requests",
                    "wall s",
                    "CPU s",
                    "CPU µs/row",
                    "excl. startup",
                    "rows/s",
                    "peak MB",
                    "time ×",
                    "CPU ×",
                    "mem ×",
                    "same rows",
                ],
                rows,
            )
        )
    inc = sc.get("incremental")
    if inc:
        tops = inc.get("top_ups", [])
        rows = []
        for stream, st in sorted(inc["backfill"]["streams"].items()):
            nc = inc["no_change"]["streams"].get(stream, {})
            pp = inc["no_change_requests_per_partition"].get(stream, {})
            row = [
                stream,
                f"{_f(st.get('requests'), '{}')} / {_f(st.get('rows'), '{:,}')}",
                _f(nc.get("requests"), "{}"),
                _f(nc.get("seconds")),
                _f(pp.get("partitions"), "{}"),
                _f(pp.get("requests_per_partition")),
            ]
            for t in tops:
                tu = inc[t]["streams"].get(stream, {})
                row.append(f"{_f(tu.get('requests'), '{}')} / {_f(tu.get('rows'), '{:,}')}")
            rows.append(row)
        parts.append("\nIncremental: every stream; cells 'requests / rows'")
        parts.append(
            _table(
                ["stream", "backfill", "no-change req", "no-change s", "partitions", "req/partition"]
                + [f"top-up +{inc[t]['advance_s']}s" for t in tops],
                rows,
            )
        )
        totals = ", ".join(
            f"{t} {inc[t]['requests']} requests in {_f(inc[t]['pull_seconds'])} s" for t in tops
        )
        parts.append(
            f"totals: backfill {inc['backfill']['requests']} requests, no-change "
            f"{inc['no_change']['requests']} requests in {_f(inc['no_change']['pull_seconds'])} s, {totals}"
        )
    st = sc.get("startup")
    if st:
        rows = [
            [
                name,
                _f(f["cpu_s"], "{:.3f}"),
                _f(f["cpu_min_s"], "{:.3f}"),
                _f(f["wall_s"], "{:.3f}"),
                _f(f["peak_rss_mb"], "{:.0f}"),
                _f(f.get("over_python_s"), "{:+.3f}"),
                _f(f.get("over_pyarrow_duckdb_s"), "{:+.3f}"),
            ]
            for name, f in st["figures"].items()
        ]
        parts.append(
            f"\nStart-up: one process per command, median of {st['figures'][st['commands'][0]]['repeats']} "
            f"(demo lake size {st['demo_size']}); seconds"
        )
        parts.append(
            _table(["command", "CPU", "CPU min", "wall", "RSS MB", "- python", "- pyarrow+duckdb"], rows)
        )
    for key in ("models", "backtest", "book", "recorder"):
        if key in sc:
            parts.append(
                f"\n{key} (bench.bench_{key} {sc[key].get('args', '')}):\n{sc[key].get('report', '').rstrip()}"
            )
    if results.get("targets"):
        rows = [
            [
                t["target"],
                _f(t["value"], "{:,.3f}"),
                t["goal"],
                {True: "MET", False: "MISSED", None: "n/a"}[t["met"]],
            ]
            for t in results["targets"]
        ]
        parts.append("\nTargets")
        parts.append(_table(["target", "value", "goal", ""], rows))
    if results.get("not_measured"):
        parts.append("\nNot measured:")
        for k, v in results["not_measured"].items():
            parts.append(f"  {k}: {v.strip().splitlines()[-1] if v.strip() else v}")
    return "\n".join(parts)


MD_START = "<!-- bench:results:start (written by python -m bench --update-md; edit outside these markers) -->"
MD_END = "<!-- bench:results:end -->"


def update_markdown(path: str, results: dict[str, Any]) -> None:
    """Replace the generated block of BENCHMARKS.md with this run's table (the text around it is kept)."""
    from pathlib import Path

    p = Path(path)
    text = p.read_text() if p.exists() else f"# Benchmarks\n\n{MD_START}\n{MD_END}\n"
    if MD_START not in text or MD_END not in text:
        text = text.rstrip() + f"\n\n{MD_START}\n{MD_END}\n"
    head, rest = text.split(MD_START, 1)
    _, tail = rest.split(MD_END, 1)
    block = (
        f"Latest run: {results['date']} — `{results['command']}` — {results['machine']['platform']}, "
        f"{results['machine']['cpus']} CPUs, Python {results['machine']['python']}.\n\n```text\n"
        f"{render(results)}\n```\n"
    )
    p.write_text(f"{head}{MD_START}\n{block}{MD_END}{tail}")
