"""`kalshi-lake exchange keygen` + `serve`: the printed variables work against the served exchange."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from kalshi_lake.cli import app
from tests.sim.helpers import SimClient


@pytest.mark.slow
def test_keygen_then_serve_accepts_the_key(tmp_path):
    keys = tmp_path / "keys"
    pem = tmp_path / "local.pem"
    res = CliRunner().invoke(app, ["exchange", "keygen", "--out", str(pem), "--keys-dir", str(keys)])
    assert res.exit_code == 0, res.output
    lines = dict(
        line.removeprefix("export ").split("=", 1)
        for line in res.stdout.splitlines()
        if line.startswith("export ")
    )
    assert set(lines) == {"KALSHI_ENV", "KALSHI_API_URL", "KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY_PATH"}
    # the key alone would leave KALSHI_ENV at its default (prod): the local exchange's URL comes with it
    assert lines["KALSHI_ENV"] == "local" and lines["KALSHI_API_URL"] == "http://127.0.0.1:8765/trade-api/v2"
    assert "PRIVATE KEY" not in res.output
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o600
    again = CliRunner().invoke(app, ["exchange", "keygen", "--out", str(pem), "--keys-dir", str(keys)])
    assert again.exit_code != 0  # never overwrites a key
    assert again.stderr.startswith("error:") and len(again.stderr.strip().splitlines()) == 1
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kalshi_sim",
            "serve",
            "--port",
            "0",
            "--size",
            "tiny",
            "--keys-dir",
            str(keys),
            "--exit-with-parent",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/trade-api/v2")
        acct = type(
            "A",
            (),
            {
                "key_id": lines["KALSHI_API_KEY_ID"],
                "private_key_pem": open(lines["KALSHI_PRIVATE_KEY_PATH"]).read(),
            },
        )
        bal = SimClient(base, acct).get_json("/portfolio/balance")
        assert bal["balance"] == 1_000_000
        # the printed variables, with the URL this server printed, are a working configuration
        from kalshi_extract.api.client import KalshiClient
        from kalshi_extract.settings import Settings

        with KalshiClient(Settings.load(environ={**lines, "KALSHI_API_URL": base})) as c:
            assert c.get_balance()["balance"] == 1_000_000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_refuses_bad_options_and_a_taken_port_in_one_line():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        for args, fragment in (
            (["--size", "bogus"], "unknown size"),
            (["--faults", "{bad"], "--faults is not valid JSON"),
            (["--tier", "nope"], "unknown tier"),
            (["--port", port], "cannot listen on"),
        ):
            res = CliRunner().invoke(app, ["exchange", "serve", "--size", "tiny", *args])
            assert res.exit_code == 1, (args, res.output)
            assert res.stderr.startswith("error:") and fragment in res.stderr, res.stderr
            assert len(res.stderr.strip().splitlines()) == 1 and res.stdout == ""


@pytest.mark.slow
def test_kalshi_lake_exchange_serve_prints_the_url_and_the_variables_to_use(tmp_path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from kalshi_lake.cli import main; main()",
            "exchange",
            "serve",
            "--port",
            "0",
            "--size",
            "tiny",
            "--keys-dir",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/trade-api/v2")
        hint = proc.stderr.readline()
        assert f"export KALSHI_ENV=local KALSHI_API_URL={base}" in hint
        SimClient(base, None).get_json("/exchange/status")
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_exchange_advance_moves_the_clock_of_a_running_exchange(fresh_exchange):
    import datetime as dt

    before = fresh_exchange.now
    res = CliRunner().invoke(app, ["exchange", "advance", "2h", "--url", fresh_exchange.base_url])
    assert res.exit_code == 0, res.output
    assert fresh_exchange.now - before >= dt.timedelta(hours=2) and "exchange time is now" in res.stdout
    for bad in ("0", "5x", "-1h"):
        res = CliRunner().invoke(app, ["exchange", "advance", bad, "--url", fresh_exchange.base_url])
        assert (
            res.exit_code == 1
            and res.stderr.startswith("error: duration")
            and len(res.stderr.splitlines()) == 1
        )
    assert fresh_exchange.now - before < dt.timedelta(hours=2, minutes=1)  # the refused ones moved nothing
