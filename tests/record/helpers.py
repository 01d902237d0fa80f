"""Shared by the recorder tests: settings for a local-exchange account, a recorder in a thread, and an independent
book keeper that rebuilds books from the lake's ws_book rows."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

from kalshi_extract.ingest.recorder import Recorder
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from kalshi_extract.ws import StreamOptions

FAST = StreamOptions(backoff_initial=0.05, backoff_max=0.3, ping_interval=2.0, ping_timeout=4.0)


def account_settings(ex, acct, lake_dir) -> Settings:
    return Settings(
        env="local",
        api_url=ex.base_url,
        api_key_id=acct.key_id,
        private_key=acct.private_key_pem,
        lake_dir=str(lake_dir),
        account="rec-test",
    )


def two_sided_markets(settings, n: int, series=("KXBTC", "KXHIGHNY", "KXINXD", "KXFEDDECISION")) -> list[str]:
    from kalshi_extract.api.client import KalshiClient

    out = []
    with KalshiClient(settings) as client:
        for s in series:
            ms = [
                m
                for m in client.get_markets(series_ticker=s, status="open")
                if m["yes_bid_dollars"] not in (None, "0.0000")
                and m["yes_ask_dollars"] not in (None, "1.0000")
            ]
            out += [m["ticker"] for m in sorted(ms, key=lambda m: (m["close_time"], m["ticker"]))[:2]]
    return out[:n]


class Running:
    """A recorder running in a thread until ``stop()``."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.stop_event = threading.Event()
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while recorder.status.flushes < 1:
            assert self.thread.is_alive(), self.error
            assert time.monotonic() < deadline, "the recorder did not start"
            time.sleep(0.05)

    def _run(self) -> None:
        try:
            self.result = self.recorder.run_sync(stop=self.stop_event)
        except BaseException as exc:  # noqa: BLE001 - reported by stop()
            self.error = exc

    def settle(self, quiet: float = 0.6) -> None:
        """Wait until nothing new arrives for ``quiet`` s and a flush has written everything received."""
        st = self.recorder.status
        last = -1
        while st.messages != last:
            last = st.messages
            time.sleep(quiet)
        flushes = st.flushes
        while st.flushes < flushes + 2:
            assert self.thread.is_alive(), self.error
            time.sleep(0.05)

    def stop(self):
        self.stop_event.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error
        return self.result


def rebuild_books(lake: Lake) -> dict[str, dict[str, dict[Decimal, Decimal]]]:
    """Books from ws_book rows alone: per ticker in arrival order, a snapshot replaces the book, a delta changes
    one level. Written independently of the recorder (it knows only the lake's columns)."""
    rows = lake.read("ws_book").to_pylist()
    rows.sort(key=lambda r: (r["received_at"], r["seq"] if r["seq"] is not None else -1))
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    current_snapshot: dict[str, tuple] = {}
    for r in rows:
        t = r["ticker"]
        if r["kind"] == "snapshot":
            key = (r["connection_id"], r["sid"], r["seq"])
            if current_snapshot.get(t) != key:  # the first level row of a new snapshot: start over
                books[t] = {"yes": {}, "no": {}}
                current_snapshot[t] = key
            if r["side"] is not None:
                books[t][r["side"]][r["price_dollars"]] = r["quantity_fp"]
            continue
        current_snapshot.pop(t, None)
        levels = books[t][r["side"]]
        q = levels.get(r["price_dollars"], Decimal(0)) + r["quantity_fp"]
        assert q >= 0, r
        if q:
            levels[r["price_dollars"]] = q
        else:
            levels.pop(r["price_dollars"], None)
    return books


def rest_book(client, ticker: str) -> dict[str, dict[Decimal, Decimal]]:
    fp = client.get_orderbook(ticker)["orderbook_fp"]
    return {
        side: {Decimal(p): Decimal(q) for p, q in fp.get(f"{side}_dollars") or []} for side in ("yes", "no")
    }
