"""book_at against the local exchange: record a few markets' books with the WebSocket client, land them in a lake
as the recorder would (ws_book rows and the coverage log, through Lake.append), build, and compare book_at at the
end of every advance with the exchange's own REST order book at that moment — across an injected sequence gap
(resynced with get_snapshot) and a cut connection (reconnect, fresh snapshots)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from kalshi_extract.errors import TransportError
from kalshi_extract.lake.schemas import arrow_schema
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from kalshi_extract.ws import Disconnected, Gap, OrderbookDelta, OrderbookSnapshot, StreamOptions, SyncStream
from kalshi_lake import warehouse
from kalshi_sim import LocalExchange
from tests.sim.helpers import SimClient, order

pytestmark = pytest.mark.slow
RUN = "rec-test"


def _schema(stream: str) -> pa.Schema:
    return pa.schema([f for f in arrow_schema(stream) if not f.name.startswith("_")])


class Recorder:
    """What the recorder writes, reduced to books: ws_book rows per message and the coverage log."""

    def __init__(self, lake: Lake) -> None:
        self.lake, self.book, self.coverage = lake, [], []

    def log(self, event: str, at: datetime, **kw) -> None:
        self.coverage.append({"at": at, "event": event, **kw})

    def take(self, item) -> None:
        conn = f"{RUN}-{item.connection_id}" if hasattr(item, "connection_id") else None
        if isinstance(item, OrderbookSnapshot):
            base = {
                "ticker": item.market_ticker,
                "market_id": item.market_id,
                "kind": "snapshot",
                "seq": item.seq,
                "sid": item.sid,
                "received_at": item.received_at,
                "connection_id": conn,
            }
            levels = [(s, p, q) for s in ("yes", "no") for p, q in getattr(item, s)]
            self.book += [
                {**base, "side": s, "price_dollars": p, "quantity_fp": q} for s, p, q in levels
            ] or [base]
            self.log(
                "whole",
                item.received_at,
                ticker=item.market_ticker,
                channel="orderbook_delta",
                sid=item.sid,
                connection_id=conn,
            )
        elif isinstance(item, OrderbookDelta):
            self.book.append(
                {
                    "ticker": item.market_ticker,
                    "market_id": item.market_id,
                    "kind": "delta",
                    "side": item.side,
                    "price_dollars": item.price,
                    "quantity_fp": item.delta,
                    "seq": item.seq,
                    "ts": datetime.fromtimestamp(item.ts_ms / 1000, UTC) if item.ts_ms else None,
                    "sid": item.sid,
                    "received_at": item.received_at,
                    "connection_id": conn,
                }
            )
        elif isinstance(item, Gap):
            for t in item.markets:
                self.log(
                    "gap",
                    item.at,
                    ticker=t,
                    channel=item.channel,
                    sid=item.sid,
                    connection_id=f"{RUN}-{item.connection_id}",
                    reason=item.reason,
                    expected_seq=item.expected,
                    got_seq=item.got,
                )
        elif isinstance(item, Disconnected):
            self.log("disconnected", item.at, connection_id=f"{RUN}-{item.connection_id}", reason=item.reason)

    def flush(self, at: datetime) -> None:
        self.log("alive", at)
        if self.book:
            self.lake.append(
                "ws_book", pa.Table.from_pylist(self.book, _schema("ws_book")), RUN, "received_at"
            )
        self.lake.append(
            "ws_coverage", pa.Table.from_pylist(self.coverage, _schema("ws_coverage")), RUN, "at"
        )
        self.book, self.coverage = [], []


def _drain(stream: SyncStream, rec: Recorder) -> None:
    stream.list_subscriptions()  # the exchange answers in order: every frame sent before is now queued
    while True:
        try:
            rec.take(stream.get(timeout=0.2))
        except TimeoutError:
            return


def _rest_book(rest: SimClient, ticker: str) -> list[tuple]:
    book = rest.get_json(f"/markets/{ticker}/orderbook")["orderbook_fp"]
    return sorted(
        (side, Decimal(p), Decimal(q)) for side in ("yes", "no") for p, q in book.get(f"{side}_dollars") or []
    )


def test_book_at_equals_the_exchange_book_after_every_advance(tmp_path):
    with LocalExchange(seed=5, size="small") as ex:
        acct = ex.create_account(balance_cents=2_000_000)
        rest = SimClient(ex.base_url, acct)
        tickers = []
        for series in ("KXBTC", "KXHIGHNY", "KXINXD"):
            ms = rest.get_json("/markets", {"status": "open", "series_ticker": series, "limit": 100})[
                "markets"
            ]
            ms = [m for m in ms if m["yes_bid_dollars"] != "0.0000" and m["yes_ask_dollars"] != "1.0000"]
            tickers += [m["ticker"] for m in sorted(ms, key=lambda m: m["close_time"])[:2]]
        assert len(tickers) >= 4
        rec = Recorder(Lake(str(tmp_path / "lake")))
        expected: list[tuple[datetime, str, list]] = []
        rec.log("started", datetime.now(UTC))
        options = StreamOptions(backoff_initial=0.05, backoff_max=0.2)
        with SyncStream(Settings.load(environ=acct.env), options=options) as stream:
            stream.subscribe("orderbook_delta", tickers)
            _drain(stream, rec)
            for step in range(8):
                if step == 3:
                    ex.set_faults(ws_drop_messages=1)  # a seq gap: the client re-snapshots the sid
                if step == 5:
                    ex.set_faults(ws_cut_connections=1)  # a cut: reconnect, resubscribe, fresh snapshots
                ex.advance(900)
                t = tickers[step % len(tickers)]
                book = rest.get_json(f"/markets/{t}/orderbook")["orderbook_fp"]
                if book["yes_dollars"] and book["no_dollars"]:
                    bid, ask = Decimal(book["yes_dollars"][-1][0]), 1 - Decimal(book["no_dollars"][-1][0])
                    rest.post("/portfolio/events/orders", order(t, "bid", "3.00", f"{bid:.4f}"))
                    rest.post(
                        "/portfolio/events/orders",
                        order(t, "bid", "2.00", f"{ask:.4f}", "immediate_or_cancel"),
                    )
                deadline = time.monotonic() + 20
                while True:
                    try:
                        _drain(stream, rec)
                    except TransportError:  # cut: not reconnected yet
                        assert time.monotonic() < deadline
                        time.sleep(0.1)
                        continue
                    if step != 5 or stream.stats.reconnects:
                        break
                instant = datetime.now(UTC)
                expected += [(instant, tk, _rest_book(rest, tk)) for tk in tickers]
                rec.flush(instant)
            assert stream.stats.reconnects >= 1 and stream.stats.gaps >= 1
        rec.log("stopped", datetime.now(UTC))
        rec.flush(datetime.now(UTC))
        con = warehouse.build_in_memory(tmp_path / "lake", run_tests=True)
        deltas = con.execute("select count(*) from stg_ws_book where kind = 'delta'").fetchone()[0]
        assert deltas > 20
        assert con.execute("select count(distinct connection_id) from int_book_epochs").fetchone()[0] >= 2
        for instant, tk, want in expected:
            got = sorted(
                con.execute("select side, price, quantity from book_at(?, ?)", [tk, instant]).fetchall()
            )
            assert got == want, (tk, instant)
        gaps = con.execute("select reason from fct_book_gaps").fetchall()
        assert any(r[0].startswith("disconnected") for r in gaps) and ("seq_gap",) in gaps
