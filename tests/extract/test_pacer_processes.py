"""One key's rate budget is shared by every process of the machine (issue #17, item 9): three pulls on one key
never make the exchange answer 429."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from kalshi_extract.api.pacer import MachineTokenBucket

WORKER = textwrap.dedent(
    """
    import json, os
    from kalshi_extract import KalshiClient
    from kalshi_extract.settings import Settings

    settings = Settings.load(environ=dict(os.environ), config_path=None)
    with KalshiClient(settings) as c:
        for _ in range(25):
            c.get_exchange_status()
        print(json.dumps({"throttled": c.stats.throttled_429, "requests": c.stats.requests, "tier": c.pacer.tier}))
    """
)


def test_three_processes_on_one_key_stay_inside_one_budget(fresh_exchange):
    acct = fresh_exchange.create_account(balance_cents=100_000)
    fresh_exchange.set_faults(rate_limit_tier="basic")  # 200 read tokens/s, 10 a request: 20 requests/s
    env = {k: v for k, v in os.environ.items() if not k.startswith("KALSHI_")} | dict(acct.env)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        outs.append(json.loads(out.strip().splitlines()[-1]))
    fresh_exchange.set_faults(rate_limit_tier="unlimited")
    assert all(o["tier"] == "basic" for o in outs)
    # 3 x 25 requests + 3 discoveries = 780 tokens against 200 + 200/s: paced, none refused
    assert sum(o["throttled"] for o in outs) == 0, outs


def test_machine_bucket_is_one_balance_across_instances(tmp_path):
    clock = [1000.0]
    path = str(tmp_path / "b.bucket")
    a = MachineTokenBucket(100, 50, path, clock=lambda: clock[0])
    b = MachineTokenBucket(100, 50, path, clock=lambda: clock[0])
    assert a.reserve(30) == 0.0
    assert round(b.reserve(30), 6) == 0.1  # the other instance already took 30 of the 50
    clock[0] += 1.0  # refills 100/s, up to the capacity only
    assert a.reserve(50) == 0.0
    assert round(b.reserve(10), 6) == 0.1
    b.drain()  # a 429 seen by one empties the bucket for all
    clock[0] += 0.05
    assert round(a.reserve(10), 6) == 0.15  # the debt of 10 left, 5 refilled, 10 more taken
