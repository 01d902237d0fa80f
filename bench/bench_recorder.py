"""Recorder throughput: the WebSocket recorder landing `orderbook_delta`, `trade` and `ticker` messages from the
local exchange as fast as the exchange can publish them, beside a raw `websockets` client receiving the same
channels in the same run.

    uv run python -m bench.bench_recorder                    # 40 markets, the exchange advanced 6 simulated hours
    uv run python -m bench.bench_recorder --markets 10 --hours 1

The local exchange (`kalshi_sim`, seed 7) runs in its own process. Each contender is one child process
(`bench.common.run_process`: peak RSS from the kernel): it connects, subscribes the three channels on the busiest
open markets, waits until the snapshots have arrived (quiet for 0.5 s), then says it is ready; the harness then
advances the exchange's clock `--hours` in 5-minute steps as fast as the exchange computes them (every step's
book diffs, trades and tickers go out at once), and the child stops once nothing arrives for 1.5 s.
Each contender gets a fresh exchange with the same seed, so the same frames. Figures are the child's own, over the
window from "ready" to the last message: messages, messages per second (wall), CPU µs per message (user + system
of the whole child over the window: the recorder's flush thread included), and the process's peak RSS.

- `recorder` — `kalshi_extract.ingest.recorder.Recorder` (`plan_record(..., channels=...)`, flush every second)
  into a fresh lake; landed rows are counted in the lake afterwards.
- `websockets_raw` — the floor: the `websockets` asyncio client, the same subscribe command, frames received and
  counted, not decoded.

The exchange and the contender share the machine's two cores: the rate is the slower of the two, so read the CPU
per message (the recorder's own cost) first. Prints a table on stderr and one JSON summary as the last stdout line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

CHANNELS = ("orderbook_delta", "trade", "ticker")
QUIET_READY_S = 0.5
QUIET_END_S = 1.5
STEP_S = 300


# --------------------------------------------------------------------------------------------------------------
# Children
# --------------------------------------------------------------------------------------------------------------
def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def _wait_quiet(count, quiet: float) -> None:
    """Block until ``count()`` is positive and has not changed for ``quiet`` seconds."""
    last, since = -1, time.monotonic()
    while True:
        n = count()
        if n != last:
            last, since = n, time.monotonic()
        elif n > 0 and time.monotonic() - since >= quiet:
            return
        time.sleep(0.02)


def _child_settings(cfg: dict):
    from kalshi_extract.settings import Settings

    return Settings(
        env="local",
        api_url=cfg["api_url"],
        api_key_id=cfg["key_id"],
        private_key=Path(cfg["key_file"]).read_text(),
        lake_dir=cfg["lake_dir"],
        account="bench",
    )


def child_recorder(cfg: dict) -> dict[str, Any]:
    from kalshi_extract.ingest.recorder import Recorder
    from kalshi_extract.ingest.recorder_plan import plan_record

    settings = _child_settings(cfg)
    plan = plan_record(settings, tickers=cfg["tickers"], channels=",".join(CHANNELS), flush_seconds=1.0)
    rec = Recorder(settings, plan, run_id="bench")
    stop = threading.Event()
    out: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: out.setdefault("status", rec.run_sync(stop=stop)), daemon=True)
    runner.start()
    st = rec.status
    _wait_quiet(lambda: st.messages, QUIET_READY_S)
    m0, c0, t0 = st.messages, _cpu(), time.perf_counter()
    Path(cfg["ready_file"]).touch()
    _wait_quiet(lambda: st.messages - m0, QUIET_END_S)
    t1 = time.perf_counter() - QUIET_END_S
    c1, m1 = _cpu(), st.messages
    stop.set()
    runner.join(timeout=120)
    return {
        "messages": m1 - m0,
        "wall_s": t1 - t0,
        "cpu_s": c1 - c0,
        "gaps": st.gaps,
        "dropped": st.dropped,
        "lake_behind": st.lake_behind,
        "rows_flushed": st.rows_flushed,
    }


def child_raw(cfg: dict) -> dict[str, Any]:
    import asyncio

    from websockets.asyncio.client import connect

    from kalshi_extract.api.auth import Signer, load_private_key

    settings = _child_settings(cfg)
    url = settings.websocket_url
    from urllib.parse import urlsplit

    headers = Signer(settings.api_key_id, load_private_key(settings)).headers(
        "GET", urlsplit(url).path or "/"
    )
    counter = {"n": 0}

    async def receive(done: asyncio.Event) -> None:
        async with connect(url, additional_headers=headers, max_size=2**24) as ws:
            for i, channel in enumerate(CHANNELS, 1):
                cmd = {
                    "id": i,
                    "cmd": "subscribe",
                    "params": {"channels": [channel], "market_tickers": cfg["tickers"]},
                }
                await ws.send(json.dumps(cmd))
            while not done.is_set():
                try:
                    await asyncio.wait_for(ws.recv(decode=False), timeout=0.2)
                except TimeoutError:
                    continue
                counter["n"] += 1

    done = asyncio.Event()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=lambda: loop.run_until_complete(receive(done)), daemon=True)
    thread.start()
    _wait_quiet(lambda: counter["n"], QUIET_READY_S)
    m0, c0, t0 = counter["n"], _cpu(), time.perf_counter()
    Path(cfg["ready_file"]).touch()
    _wait_quiet(lambda: counter["n"] - m0, QUIET_END_S)
    t1 = time.perf_counter() - QUIET_END_S
    c1, m1 = _cpu(), counter["n"]
    loop.call_soon_threadsafe(done.set)
    thread.join(timeout=10)
    return {"messages": m1 - m0, "wall_s": t1 - t0, "cpu_s": c1 - c0}


# --------------------------------------------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------------------------------------------
def _busiest_tickers(settings, n: int) -> list[str]:
    """The ``n`` open markets with the most volume (the ones whose books move most)."""
    from kalshi_extract.api.client import KalshiClient

    with KalshiClient(settings) as client:
        markets = list(client.get_markets(status="open"))
    markets.sort(key=lambda m: (-float(m.get("volume_fp") or m.get("volume") or 0), m["ticker"]))
    return [m["ticker"] for m in markets[:n]]


def _one(contender: str, args, root: Path) -> dict[str, Any]:
    from bench.common import BenchError, child_env, run_process
    from kalshi_extract.settings import Settings
    from kalshi_sim import LocalExchange

    work = root / contender
    work.mkdir(parents=True)
    with LocalExchange(seed=args.seed, size=args.size, subprocess=True) as ex:
        acct = ex.create_account()
        key_file = work / "key.pem"
        key_file.write_text(acct.private_key_pem)
        key_file.chmod(0o600)
        settings = Settings(
            env="local",
            api_url=ex.base_url,
            api_key_id=acct.key_id,
            private_key=acct.private_key_pem,
            lake_dir=str(work / "data"),
            account="bench",
        )
        tickers = _busiest_tickers(settings, args.markets)
        cfg = {
            "api_url": ex.base_url,
            "key_id": acct.key_id,
            "key_file": str(key_file),
            "lake_dir": str(work / "data"),
            "tickers": tickers,
            "ready_file": str(work / "ready"),
        }
        (work / "cfg.json").write_text(json.dumps(cfg))
        argv = [sys.executable, "-m", "bench.bench_recorder", "--child", contender, str(work / "cfg.json")]
        result: dict[str, Any] = {}
        child = threading.Thread(
            target=lambda: result.setdefault(
                "child", run_process(contender, argv, env=child_env(), timeout=900)
            )
        )
        child.start()
        deadline = time.monotonic() + 120
        while not (work / "ready").exists():
            if not child.is_alive() or time.monotonic() > deadline:
                child.join()
                c = result.get("child")
                raise BenchError(f"{contender} never got ready\n{c.stderr_tail if c else ''}")
            time.sleep(0.05)
        t0 = time.perf_counter()
        for _ in range(int(args.hours * 3600 // STEP_S)):
            ex.advance(STEP_S)
        advance_s = time.perf_counter() - t0
        child.join()
    c = result["child"]
    if c.returncode != 0 or c.timed_out:
        raise BenchError(f"{contender} exited with status {c.returncode}\n{c.stderr_tail}")
    fig = dict(c.summary)
    fig.update(
        tickers=len(tickers),
        exchange_advance_s=round(advance_s, 2),
        msgs_per_s=round(fig["messages"] / fig["wall_s"]) if fig["wall_s"] > 0 else None,
        cpu_us_per_msg=round(fig["cpu_s"] / fig["messages"] * 1e6, 1) if fig["messages"] else None,
        peak_rss_mb=round(c.peak_mem_bytes / 1e6),
        process_cpu_s=round(c.cpu_s, 2),
    )
    if contender == "recorder":
        fig["rows_landed"] = _landed(work / "data")
    return fig


def _landed(lake_dir: Path) -> dict[str, int]:
    import pyarrow.parquet as pq

    out = {}
    for stream in ("ws_book", "ws_trades", "ws_ticker"):
        files = sorted((lake_dir / "lake" / stream).rglob("*.parquet"))
        out[stream] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    return out


def recorder_bench(
    markets: int = 40, hours: float = 6.0, size: str = "small", seed: int = 7
) -> dict[str, Any]:
    """Both contenders (see the module docstring); the figures by contender name."""
    import shutil

    from bench.common import work_dir

    args = argparse.Namespace(markets=markets, hours=hours, size=size, seed=seed)
    root = work_dir() / "recorder"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    figures = {name: _one(name, args, root) for name in ("websockets_raw", "recorder")}
    raw, rec = figures["websockets_raw"], figures["recorder"]
    ratios = {}
    if raw.get("cpu_us_per_msg") and rec.get("cpu_us_per_msg"):
        ratios["cpu_per_msg_recorder_over_raw"] = round(rec["cpu_us_per_msg"] / raw["cpu_us_per_msg"], 2)
    return {
        "markets": markets,
        "hours": hours,
        "size": size,
        "seed": seed,
        "figures": figures,
        "ratios": ratios,
    }


def render(out: dict[str, Any]) -> str:
    head = f"{'contender':16} {'messages':>9} {'msg/s':>8} {'CPU µs/msg':>10} {'RSS MB':>7} {'gaps':>5} {'dropped':>8}"
    lines = [head, "-" * len(head)]
    for name, f in out["figures"].items():
        lines.append(
            f"{name:16} {f['messages']:>9,} {f['msgs_per_s'] or 0:>8,} {f['cpu_us_per_msg'] or 0:>10} "
            f"{f['peak_rss_mb']:>7} {f.get('gaps', '-'):>5} {f.get('dropped', '-'):>8}"
        )
    rec = out["figures"].get("recorder", {})
    if "rows_landed" in rec:
        lines.append(f"recorder rows landed: {rec['rows_landed']}")
    if out["ratios"]:
        lines.append(f"ratios: {out['ratios']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markets", type=int, default=40, help="open markets subscribed (the busiest)")
    p.add_argument("--hours", type=float, default=6.0, help="simulated hours the exchange is advanced")
    p.add_argument("--size", default="small", help="local exchange size")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--child", nargs=2, metavar=("CONTENDER", "CFG"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        cfg = json.loads(Path(args.child[1]).read_text())
        fn = {"recorder": child_recorder, "websockets_raw": child_raw}[args.child[0]]
        print(json.dumps(fn(cfg)))
        return 0
    out = recorder_bench(args.markets, args.hours, args.size, args.seed)
    print(render(out), file=sys.stderr)
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
