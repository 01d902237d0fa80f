"""A local exchange whose simulated clock is weeks from this machine's: the recording, the order journal and
`status` date everything by the exchange's time, and say which columns are this machine's clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kalshi_extract.ingest.recorder import Recorder
from kalshi_extract.ingest.recorder_plan import plan_record
from kalshi_extract.ingest.status import lake_status
from kalshi_extract.lake.store import Lake
from kalshi_sim import LocalExchange
from tests.orders.helpers import Cli, cli_env, open_markets
from tests.record.helpers import FAST, Running, account_settings, two_sided_markets

pytestmark = pytest.mark.slow


def _days(lake: Lake, stream: str) -> set[date]:
    return {date.fromisoformat(f.rsplit("/", 2)[-2].split("=", 1)[1]) for f in lake.files(stream)}


def test_a_far_future_exchange_dates_the_recording_journal_and_status_by_its_own_clock(tmp_path):
    with LocalExchange(seed=5, size="tiny") as ex:
        today = datetime.now(UTC).date()
        while abs((ex.now.date() - today).days) < 20:
            ex.advance(seconds=30 * 86400)
        acct = ex.create_account(balance_cents=1_000_000)
        settings = account_settings(ex, acct, tmp_path)
        start = ex.now.date()

        tickers = two_sided_markets(settings, 3)
        assert tickers
        rec = Recorder(settings, plan_record(settings, tickers=tickers, flush_seconds=0.2), options=FAST)
        running = Running(rec)
        ex.advance(600)
        running.settle()
        running.stop()

        cli = Cli(cli_env(acct.env, tmp_path))
        from kalshi_extract.api.client import KalshiClient

        with KalshiClient(settings) as client:
            m = open_markets(client, 5)[0]
        cli.json("buy", m["ticker"], "yes", "1", "1")  # a resting bid at 1¢: journaled
        end = ex.now.date()

        lake = Lake.from_settings(settings)
        sim_days = {date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)}
        assert lake.files("ws_book") and lake.files("order_events")
        for stream in ("ws_book", "ws_trades", "ws_ticker", "ws_lifecycle", "order_events"):
            days = _days(lake, stream)
            assert days <= sim_days, (stream, days, sim_days)
        journal = lake.read("order_events").to_pylist()  # its ts: this machine's clock (the phases' order)
        assert journal and all(abs((r["ts"] - datetime.now(UTC)).total_seconds()) < 600 for r in journal)
        # the recorder's arrival times stay this machine's, in their own column
        book = lake.read("ws_book").to_pylist()
        assert book and all(abs((r["received_at"] - datetime.now(UTC)).total_seconds()) < 3600 for r in book)
        assert _days(lake, "ws_coverage") <= {today, date.fromordinal(today.toordinal() + 1)}

        report = {s["stream"]: s for s in lake_status(settings)["streams"]}
        assert report["ws_book"]["clock"] == "exchange" and report["order_events"]["clock"] == "exchange"
        assert report["ws_coverage"]["clock"] == "local" and report["markets"]["clock"] == "local"
        for name in ("ws_book", "order_events"):
            for key in ("first", "last", "data_start", "data_end"):  # what the status table shows
                assert report[name][key] is None or date.fromisoformat(report[name][key][:10]) in sim_days

        out = cli.ok("status").output
        assert "through" in out and "the exchange's time" in out and "this machine's clock" in out
