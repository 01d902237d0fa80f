"""Pull benchmarks: kalshi-lake against its baselines, all in one run, against one local exchange.

Scenarios (each returns a plain dict that goes into ``bench/results.json``):

- ``rate_limit``: the exchange enforces the Basic tier (200 read tokens/s, 10 per request ⇒ 20 requests/s, bucket
  of 200 tokens ⇒ a 20-request burst). kalshi-lake backfills trades for ``seconds`` and is then stopped. Reported:
  achieved requests/s ÷ 20 (``rate_ratio``), requests ÷ (burst + 20 × seconds) (``allowance_used``, the stricter
  one: it cannot exceed 1 without 429s), and the 429s the exchange answered.
- ``cpu_pull``: no rate limit, ``size`` trades. kalshi-lake, the fetch-only floor, the seed-style loop and dlt each
  pull the whole tape in a child process (``bench.common.run_child``); rows/s, CPU µs per row, peak RSS, and the
  ratio of each baseline to kalshi-lake; seed-style and dlt outputs are checked row by row against the lake.
  Run at two sizes to show kalshi-lake's peak RSS does not grow with rows.
- ``incremental``: in ``bench.bench_incremental``.

The exchange always runs in a process of its own (``LocalExchange(..., subprocess=True)``), so its CPU is never
counted against a contender. Which trade endpoints the baselines walk: ``/markets/trades`` and, when the exchange
serves it, ``/historical/trades`` (trades older than the historical cutoff are only there, as on the real API).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from bench.common import BenchError, ChildResult, child_env, ratio, run_child, work_dir

BASIC_READ_TOKENS_PER_S = 200
BASIC_BUCKET_TOKENS = 200
DEFAULT_COST = 10


class Exchange:
    """The local exchange as the harness sees it (``kalshi_sim.LocalExchange`` or the dev server)."""

    def __init__(self, base_url: str, sim: Any = None, closer: Any = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.sim = sim
        self._closer = closer

    @property
    def is_sim(self) -> bool:
        return self.sim is not None

    def clear_requests(self) -> None:
        if self.sim is not None:
            self.sim.clear_requests()

    def request_log(self) -> list[dict] | None:
        return None if self.sim is None else list(self.sim.requests())

    def trade_paths(self) -> list[str]:
        """The list endpoints that together hold every trade."""
        paths = ["/markets/trades"]
        try:
            r = requests.get(self.base_url + "/historical/trades", params={"limit": 1}, timeout=30)
            if r.status_code == 200 and "trades" in r.json():
                paths.insert(0, "/historical/trades")
        except (requests.RequestException, ValueError):
            pass
        return paths

    def close(self) -> None:
        if self._closer is not None:
            self._closer()


@contextlib.contextmanager
def start_exchange(
    size: int | str, seed: int = 7, tier: str | None = None, dev_server: bool = False
) -> Iterator[Exchange]:
    """Start a local exchange in its own process; ``dev_server`` uses ``bench.devserver`` instead (dev aid)."""
    if dev_server:
        import subprocess
        import sys

        n = size if isinstance(size, int) else 5000
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.devserver", "--trades", str(n)],
            stdout=subprocess.PIPE,
            env=child_env(),
        )
        line = proc.stdout.readline()
        try:
            ex = Exchange(json.loads(line)["base_url"], closer=lambda: (proc.terminate(), proc.wait()))
        except (ValueError, KeyError) as exc:
            proc.kill()
            raise BenchError(f"dev server did not start: {line!r}") from exc
        try:
            yield ex
        finally:
            ex.close()
        return
    try:
        from kalshi_sim import LocalExchange
    except ImportError as exc:
        raise BenchError(f"kalshi_sim.LocalExchange is not available ({exc})") from exc
    with LocalExchange(seed=seed, size=size, tier=tier, subprocess=True) as sim:
        _wait_until_serving(sim.base_url)
        yield Exchange(sim.base_url, sim=sim)


def _wait_until_serving(base_url: str, limit_s: float = 120.0) -> None:
    """The exchange prints its URL once the port is bound; wait until it actually answers."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            requests.get(base_url + "/exchange/status", timeout=10)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"the local exchange at {base_url} did not answer within {limit_s:.0f} s"
                ) from None
            time.sleep(0.05)


def warm_up() -> None:
    """Cache the bytecode of every contender's imports (unmeasured); see ``bench.warmup``."""
    run_child("warmup", "bench.warmup", [], timeout=600)


def _fresh_dir(*parts: str) -> Path:
    d = work_dir().joinpath(*parts)
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def _server_counts(ex: Exchange) -> dict[str, int] | None:
    log = ex.request_log()
    if log is None:
        return None
    statuses = Counter(int(r.get("status") or 0) for r in log)
    return {
        "requests": len(log),
        "throttled_429": statuses.get(429, 0),
        "errors_5xx": sum(n for s, n in statuses.items() if s >= 500),
    }


def _lake_child(
    ex: Exchange,
    lake_dir: Path,
    streams: str = "trades",
    tier: str | None = "unlimited",
    deadline: float | None = None,
    env_json: dict | None = None,
    timeout: float = 1800,
    hide_pandas: bool = False,
    name: str = "kalshi_lake",
) -> ChildResult:
    args = ["--base-url", ex.base_url, "--lake-dir", str(lake_dir), "--streams", streams]
    if hide_pandas:
        args.append("--hide-pandas")
    if tier:
        args += ["--tier", tier]
    if deadline:
        args += ["--deadline", str(deadline)]
    if env_json:
        args += ["--env-json", json.dumps(env_json)]
    return run_child(name, "bench.lake_child", args, timeout=timeout)


def _stream_rows(summary: dict, stream: str) -> int | None:
    for s in summary.get("stream_results") or []:
        if s.get("stream") == stream:
            return int(s.get("rows") or 0)
    return None


# --------------------------------------------------------------------------------------------------------------
# 1. rate-limit saturation


@contextlib.contextmanager
def _use(ex: Exchange | None, size: int | str, seed: int, dev_server: bool = False) -> Iterator[Exchange]:
    if ex is not None:
        yield ex
    else:
        with start_exchange(size, seed=seed, dev_server=dev_server) as fresh:
            yield fresh


def rate_limit(
    size: int | str, seconds: float = 25.0, seed: int = 7, ex: Exchange | None = None
) -> dict[str, Any]:
    """kalshi-lake backfilling trades against the Basic tier for ``seconds``; see the module docstring.

    ``ex``: an exchange already running (its rate limit is switched to Basic for this run and back after)."""
    with _use(ex, size, seed) as ex:
        if not ex.is_sim:
            raise BenchError("the rate-limit benchmark needs the local exchange")
        ex.sim.set_faults(rate_limit_tier="basic")
        try:
            return _rate_limit_on(ex, seconds)
        finally:
            ex.sim.set_faults(rate_limit_tier="unlimited")


def _rate_limit_on(ex: Exchange, seconds: float) -> dict[str, Any]:
    ex.clear_requests()
    lake_dir = _fresh_dir("rate_limit")
    # no --tier: the client discovers the limit from the exchange's /account/limits, as a user's would
    child = _lake_child(ex, lake_dir, "trades", tier=None, deadline=seconds, timeout=seconds + 600)
    server = _server_counts(ex)
    s = child.summary
    if not s:
        child.check()
    window = float(s["pull_seconds"])
    reqs = int(server["requests"]) if server else int(s["requests"])
    allowed_rps = BASIC_READ_TOKENS_PER_S / DEFAULT_COST
    burst = BASIC_BUCKET_TOKENS / DEFAULT_COST
    return {
        "tier": "basic",
        "allowed_requests_per_s": allowed_rps,
        "window_s": window,
        "finished_before_deadline": s.get("finished"),
        "requests": reqs,
        "client_requests": s.get("requests"),
        "achieved_requests_per_s": reqs / window if window else None,
        "rate_ratio": (reqs / window) / allowed_rps if window else None,
        "allowance_used": reqs / (burst + allowed_rps * window) if window else None,
        "throttled_429": server["throttled_429"] if server else s.get("throttled"),
        "client_throttled_429": s.get("throttled"),
        "rows": s.get("rows"),
        "pages": s.get("pages"),
        "error": s.get("error"),
        "child": child.to_dict(),
    }


# --------------------------------------------------------------------------------------------------------------
# 2 + 3. CPU-bound pull with baselines


CONTENDERS = {
    "fetch_only": "bench.baselines.fetch_only",
    "seed_style": "bench.baselines.seed_style",
    "dlt": "bench.baselines.dlt_rest_api",
}


def _contender_figures(child: ChildResult, rows: int | None) -> dict[str, Any]:
    d = {
        "rows": rows,
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "user_s": child.user_s,
        "sys_s": child.sys_s,
        "peak_rss_mb": child.peak_rss_bytes / 1e6,
        "sampled_peak_rss_mb": child.sampled_peak_rss_bytes / 1e6,
        "peak_mem_mb": child.peak_mem_bytes / 1e6,
        "rows_per_s": rows / child.wall_s if rows else None,
        "cpu_us_per_row": child.cpu_s / rows * 1e6 if rows else None,
        "cpu_s_per_million_rows": child.cpu_s / rows * 1e6 if rows else None,
        "returncode": child.returncode,
    }
    startup = child.summary.get("startup_cpu_s")
    d["startup_cpu_s"] = startup
    d["pull_cpu_us_per_row"] = (child.cpu_s - startup) / rows * 1e6 if rows and startup is not None else None
    return d


def cpu_pull(
    size: int,
    seed: int = 7,
    baselines: tuple[str, ...] = ("fetch_only", "seed_style", "dlt"),
    with_lake: bool = True,
    dev_server: bool = False,
    ex: Exchange | None = None,
    lake_without_pandas: bool = True,
) -> dict[str, Any]:
    """Pull ``size`` trades with no rate limit with every contender; figures, ratios and row checks.

    ``lake_without_pandas`` adds a second kalshi-lake run with pandas made unimportable (a plain install has no
    pandas; pyarrow imports it whenever it is installed, and the bench group installs it for seed-style)."""
    from bench.compare import compare, load_trades

    out: dict[str, Any] = {"size": size, "contenders": {}, "same_rows": {}, "ratios_to_kalshi_lake": {}}
    errors: dict[str, str] = {}
    with _use(ex, size, seed, dev_server) as ex:
        paths = ex.trade_paths()
        out["trade_paths"] = paths
        outputs: dict[str, str | None] = {}
        lake_runs = [("kalshi_lake", False)] + (
            [("kalshi_lake_nopandas", True)] if lake_without_pandas else []
        )
        for lake_name, hide in lake_runs if with_lake else []:
            ex.clear_requests()
            lake_dir = _fresh_dir(f"cpu_{size}", lake_name)
            child = _lake_child(ex, lake_dir, "trades", tier="unlimited", hide_pandas=hide, name=lake_name)
            server = _server_counts(ex)
            try:
                child.check()
                if child.summary.get("error"):
                    raise BenchError(f"{lake_name}: {child.summary['error']}")
                rows = _stream_rows(child.summary, "trades")
                fig = _contender_figures(child, rows)
                fig["requests"] = server["requests"] if server else child.summary.get("requests")
                fig["pull_seconds"] = child.summary.get("pull_seconds")
                fig["import_seconds"] = child.summary.get("import_seconds")
                fig["pandas_loaded"] = child.summary.get("pandas_loaded")
                out["contenders"][lake_name] = fig
                outputs[lake_name] = str(Path(child.summary["lake_root"]) / "trades")
            except BenchError as exc:
                errors[lake_name] = str(exc)[-2000:]
        for name in baselines:
            ex.clear_requests()
            d = _fresh_dir(f"cpu_{size}", name)
            args = ["--base-url", ex.base_url, "--out", str(d)]
            for p in paths:
                args += ["--path", p]
            child = run_child(name, CONTENDERS[name], args, timeout=3600)
            server = _server_counts(ex)
            try:
                child.check()
                fig = _contender_figures(child, int(child.summary.get("rows") or 0))
                fig["requests"] = server["requests"] if server else child.summary.get("requests")
                out["contenders"][name] = fig
                outputs[name] = child.summary.get("output")
            except BenchError as exc:
                errors[name] = str(exc)[-2000:]
    # row-by-row checks (after the exchange is gone, outside every measured process)
    ref_name = (
        "kalshi_lake" if outputs.get("kalshi_lake") else ("seed_style" if outputs.get("seed_style") else None)
    )
    if ref_name:
        ref = load_trades(outputs[ref_name])
        out["reference"] = ref_name
        for name, path in outputs.items():
            if name == ref_name or not path:
                continue
            out["same_rows"][name] = compare(ref, load_trades(path))
        if "fetch_only" in out["contenders"]:
            out["same_rows"]["fetch_only"] = {
                "same": out["contenders"]["fetch_only"]["rows"] == ref.num_rows,
                "note": "row count only (fetch-only parses nothing)",
                "rows": out["contenders"]["fetch_only"]["rows"],
                "rows_reference": ref.num_rows,
            }
    lake = out["contenders"].get("kalshi_lake")
    if lake:
        for name, fig in out["contenders"].items():
            if name == "kalshi_lake":
                continue
            out["ratios_to_kalshi_lake"][name] = {
                "time": ratio(fig["wall_s"], lake["wall_s"]),
                "cpu": ratio(fig["cpu_s"], lake["cpu_s"]),
                "cpu_per_row": ratio(fig["cpu_us_per_row"], lake["cpu_us_per_row"]),
                "peak_mem": ratio(fig["peak_mem_mb"], lake["peak_mem_mb"]),
                "rows_per_s": ratio(fig["rows_per_s"], lake["rows_per_s"]),
            }
    out["errors"] = errors
    return out
