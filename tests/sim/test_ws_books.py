"""Order books rebuilt from the WebSocket (snapshot + deltas, per-sid seq checked) equal the exchange's own
REST order book after every advance and user order, for several markets, with and without injected gaps."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_sim import LocalExchange
from tests.sim.helpers import SimClient, order
from tests.sim.ws_helpers import WsClient


class Books:
    """An independent client-side book keeper: {ticker: {"yes": {price: qty}, "no": {...}}} per sid."""

    def __init__(self) -> None:
        self.books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
        self.last_seq: dict[int, int] = {}
        self.gaps: list[tuple[int, int, int]] = []

    def apply(self, f: dict) -> None:
        if f.get("type") not in ("orderbook_snapshot", "orderbook_delta"):
            return
        sid, seq = f["sid"], f["seq"]
        expected = self.last_seq.get(sid, 0) + 1
        if seq != expected:
            self.gaps.append((sid, expected, seq))
        self.last_seq[sid] = seq
        m = f["msg"]
        if f["type"] == "orderbook_snapshot":
            self.books[m["market_ticker"]] = {
                side: {Decimal(p): Decimal(q) for p, q in m.get(f"{side}_dollars_fp", [])}
                for side in ("yes", "no")
            }
            return
        levels = self.books[m["market_ticker"]][m["side"]]
        price = Decimal(m["price_dollars"])
        q = levels.get(price, Decimal(0)) + Decimal(m["delta_fp"])
        assert q >= 0, f
        if q:
            levels[price] = q
        else:
            del levels[price]

    def as_rest(self, ticker: str) -> dict:
        b = self.books[ticker]
        return {
            f"{side}_dollars": [[f"{p:.4f}", f"{q:.2f}"] for p, q in sorted(b[side].items())]
            for side in ("yes", "no")
        }


def _open_markets(client: SimClient, n: int) -> list[str]:
    out = []
    for series in ("KXBTC", "KXHIGHNY", "KXINXD", "KXFEDDECISION"):
        ms = client.get_json("/markets", {"status": "open", "series_ticker": series, "limit": 100})["markets"]
        ms = [m for m in ms if m["yes_bid_dollars"] != "0.0000" and m["yes_ask_dollars"] != "1.0000"]
        out += [m["ticker"] for m in sorted(ms, key=lambda m: m["close_time"])[:2]]
    return out[:n]


def _check(client: SimClient, books: Books, tickers: list[str]) -> None:
    for t in tickers:
        rest = client.get_json(f"/markets/{t}/orderbook")["orderbook_fp"]
        assert books.as_rest(t) == rest, t


@pytest.fixture(scope="module")
def exchange():
    with LocalExchange(seed=5, size="small") as ex:
        yield ex


def test_books_rebuilt_from_snapshot_and_deltas_equal_the_engine(exchange):
    ex = exchange
    acct = ex.create_account(balance_cents=2_000_000)
    rest = SimClient(ex.base_url, acct)
    tickers = _open_markets(rest, 5)
    assert len(tickers) >= 4
    books = Books()
    with WsClient(ex.ws_url, acct) as ws:
        frames = ws.command("subscribe", {"channels": ["orderbook_delta"], "market_tickers": tickers[:3]})
        [sub] = [f for f in frames if f["type"] == "subscribed"]
        sid = sub["msg"]["sid"]
        for f in frames:
            books.apply(f)
        _check(rest, books, tickers[:3])
        # add a market to the same subscription: its snapshot continues the sid's sequence
        frames = ws.command(
            "update_subscription", {"sid": sid, "action": "add_markets", "market_tickers": [tickers[3]]}
        )
        assert [f["type"] for f in frames] == ["ok", "orderbook_snapshot"]
        for f in frames:
            books.apply(f)
        watched = tickers[:4]
        deltas = 0
        for step in range(8):
            ex.advance(900)
            t = watched[step % len(watched)]
            book = rest.get_json(f"/markets/{t}/orderbook")["orderbook_fp"]
            if book["yes_dollars"] and book["no_dollars"]:
                bid = Decimal(book["yes_dollars"][-1][0])
                ask = 1 - Decimal(book["no_dollars"][-1][0])
                # rest a bid at the best bid, take the offer, then cancel what rests
                r = rest.post("/portfolio/events/orders", order(t, "bid", "3.00", f"{bid:.4f}"))
                assert r.status_code == 201, r.text
                oid = r.json()["order_id"]
                r = rest.post(
                    "/portfolio/events/orders", order(t, "bid", "2.00", f"{ask:.4f}", "immediate_or_cancel")
                )
                assert r.status_code == 201, r.text
                if step % 2:
                    rest.delete(f"/portfolio/events/orders/{oid}")
            for f in ws.sync():
                deltas += f["type"] == "orderbook_delta"
                books.apply(f)
            _check(rest, books, watched)
        assert deltas > 20
        assert books.gaps == []
        assert set(books.last_seq) == {sid}  # one sequence for all markets of the subscription


def test_a_dropped_message_shows_as_a_gap_and_get_snapshot_recovers(exchange):
    ex = exchange
    acct = ex.create_account()
    rest = SimClient(ex.base_url, acct)
    tickers = _open_markets(rest, 3)
    books = Books()
    with WsClient(ex.ws_url, acct) as ws:
        frames = ws.command("subscribe", {"channels": ["orderbook_delta"], "market_tickers": tickers})
        sid = next(f["msg"]["sid"] for f in frames if f["type"] == "subscribed")
        for f in frames:
            books.apply(f)
        ex.set_faults(ws_drop_messages=1)
        for _ in range(6):
            ex.advance(1800)
            for f in ws.sync():
                books.apply(f)
            if books.gaps:
                break
        assert len(books.gaps) == 1 and books.gaps[0][0] == sid
        _, expected, got = books.gaps[0]
        assert got == expected + 1
        frames = ws.command(
            "update_subscription", {"sids": [sid], "action": "get_snapshot", "market_tickers": tickers}
        )
        assert [f["type"] for f in frames] == ["ok"] + ["orderbook_snapshot"] * len(tickers)
        for f in frames:
            books.apply(f)
        _check(rest, books, tickers)
        ex.advance(1800)
        for f in ws.sync():
            books.apply(f)
        _check(rest, books, tickers)


def test_use_yes_price_reports_no_bids_on_the_yes_scale(exchange):
    ex = exchange
    acct = ex.create_account()
    rest = SimClient(ex.base_url, acct)
    t = _open_markets(rest, 1)[0]
    with WsClient(ex.ws_url, acct) as ws:
        frames = ws.command(
            "subscribe", {"channels": ["orderbook_delta"], "market_ticker": t, "use_yes_price": True}
        )
        [snap] = [f for f in frames if f["type"] == "orderbook_snapshot"]
        book = rest.get_json(f"/markets/{t}/orderbook")["orderbook_fp"]
        want = sorted([f"{1 - Decimal(p):.4f}", q] for p, q in book["no_dollars"])
        assert snap["msg"]["no_dollars_fp"] == want
        assert snap["msg"]["yes_dollars_fp"] == book["yes_dollars"]
