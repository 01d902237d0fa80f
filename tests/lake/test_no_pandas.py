"""A pull never imports pandas (pyarrow would import it on ``pa.array``/``pa.scalar``: ~2 s CPU and 60 MB)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_paths import REAL_DATA

REAL = REAL_DATA

CHILD = r"""
import json, sys
from pathlib import Path
from tests.lake.fakeapi import FakeApi
from tests.shared_paths import REAL_DATA as REAL
api = FakeApi()
api.routes["/historical/cutoff"] = lambda q: b'{"trades_created_ts": "2020-01-01T00:00:00Z"}'
api.pages("/markets/trades", [(REAL / "manta_prod/trades_window.json").read_bytes(),
                              (REAL / "fortuna_demo/trades__public_recorded.json").read_bytes()])
api.routes["/historical/trades"] = lambda q: b'{"trades": [], "cursor": ""}'
from kalshi_extract.api.client import KalshiClient
from kalshi_extract.lake.store import Lake
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.settings import Settings
s = Settings.load(environ={"KALSHI_ENV": "local", "KALSHI_API_URL": api.base_url, "KALSHI_TIER": "unlimited",
                           "KALSHI_LAKE_DIR": sys.argv[1]})
with KalshiClient(s) as c:
    lake = Lake.from_settings(s)
    first = pull(c, lake, ["trades"], Selection()).streams[0]
    again = pull(c, lake, ["trades"], Selection()).streams[0]
print(json.dumps({"pandas": "pandas" in sys.modules, "rows": [first.rows, again.rows],
                  "errors": [first.error, again.error]}))
"""


@pytest.mark.skipif(not REAL.exists(), reason="recorded responses not available")
def test_pull_and_top_up_do_not_import_pandas(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"pandas": False, "rows": [112, 0], "errors": [None, None]}
