"""One pull() run reads /historical/cutoff once, however many of its streams need it."""

from __future__ import annotations

from kalshi_extract.ingest.pull import Selection, pull, pull_stream
from tests.lake.helpers import client_and_lake

TIME_STREAMS = ["trades", "fills", "orders", "settlements", "markets"]


def cutoff_reads(exchange) -> int:
    """Reads of /historical/cutoff since the test cleared the log (public endpoint: the client does not sign it)."""
    return sum(1 for r in exchange.requests() if r["path"].endswith("/historical/cutoff"))


def test_one_cutoff_read_per_run(exchange, tmp_path):
    acct = exchange.create_account(balance_cents=1_000_000)
    client, lake, _ = client_and_lake(acct, tmp_path / "lake")
    exchange.clear_requests()
    first = pull(client, lake, TIME_STREAMS, Selection())
    assert first.ok, [(s.stream, s.error) for s in first.streams]
    assert cutoff_reads(exchange) == 1
    again = pull(client, lake, TIME_STREAMS, Selection())  # a new run reads it afresh
    assert again.ok and again.rows == 0
    assert cutoff_reads(exchange) == 2
    assert pull_stream(client, lake, "trades", Selection()).ok  # a stream on its own reads it itself
    assert cutoff_reads(exchange) == 3
