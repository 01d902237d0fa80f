"""The paginator's one-page-ahead prefetch: the next page is fetched and decoded on a helper thread while the caller
works, with the same pages, order, cursor checks and errors as without it, at most one page ahead, and no request
left running when the caller stops."""

from __future__ import annotations

import threading
import time

import orjson
import pytest

from kalshi_extract.api.paginator import paginate
from kalshi_extract.errors import PaginationError


def body(n: int, cursor: str | None) -> bytes:
    return orjson.dumps({"cursor": cursor, "trades": [{"trade_id": f"t{n}"}]})


def chain(n: int) -> dict:
    """Pages keyed by the cursor that fetches them: None → "c1" → … → "c<n-1>" (last page, no cursor)."""
    keys = [None] + [f"c{i}" for i in range(1, n)]
    return {k: body(i, keys[i + 1] if i + 1 < n else None) for i, k in enumerate(keys)}


class Server:
    """Raw fetches of ``pages``; records each request's cursor and thread, and how many were in flight at once."""

    def __init__(self, pages: dict, delay: float = 0.0, fail_at: str | None = None) -> None:
        self.pages = pages
        self.delay = delay
        self.fail_at = fail_at
        self.calls: list[tuple[str | None, str]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def raw(self, path, params):
        cursor = params.get("cursor")
        with self._lock:
            self.calls.append((cursor, threading.current_thread().name))
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
            if self.fail_at is not None and cursor == self.fail_at:
                raise ConnectionError(f"boom at {cursor}")
            return self.pages[cursor], None
        finally:
            with self._lock:
                self.in_flight -= 1

    def parsed(self, path, params):
        b = self.pages[params.get("cursor")]
        return b, orjson.loads(b)


def decode(b: bytes):
    data = orjson.loads(b)
    return tuple(t["trade_id"] for t in data["trades"]), data.get("cursor")


def run(server: Server, prefetch: bool | None = None, **kw) -> list:
    return list(
        paginate(
            server.parsed, "/t", {}, "trades", decode=decode, fetch_raw=server.raw, prefetch=prefetch, **kw
        )
    )


def test_same_pages_in_the_same_order_with_and_without_prefetch():
    pages = chain(6)
    on, off = Server(pages), Server(pages)
    got_on, got_off = run(on), run(off, prefetch=False)
    assert [(p.number, p.items, p.cursor, p.request_cursor) for p in got_on] == [
        (p.number, p.items, p.cursor, p.request_cursor) for p in got_off
    ]
    assert [p.items for p in got_on] == [(f"t{i}",) for i in range(6)]
    assert [c for c, _ in on.calls] == [c for c, _ in off.calls]  # each page requested once, in order
    # the first page on the caller's thread, the rest ahead on the helper thread
    assert on.calls[0][1] == threading.current_thread().name
    assert all(name.startswith("page-ahead") for _, name in on.calls[1:])
    assert all(name == threading.current_thread().name for _, name in off.calls)


def test_next_page_is_in_flight_while_the_caller_works_and_never_more_than_one():
    server = Server(chain(5), delay=0.1)
    t0 = time.monotonic()
    for _ in paginate(server.parsed, "/t", {}, "trades", decode=decode, fetch_raw=server.raw):
        time.sleep(0.1)  # the caller's convert/write
    overlapped = time.monotonic() - t0
    assert server.most_in_flight == 1
    # 5 fetches + 5 caller steps of 100 ms: ~1.0 s one after the other, ~0.6 s overlapped
    assert overlapped < 0.85, overlapped


def test_a_one_page_listing_starts_no_thread():
    server = Server(chain(1))
    before = threading.active_count()
    assert len(run(server)) == 1
    assert threading.active_count() == before
    assert server.calls == [(None, threading.current_thread().name)]


def test_caller_stopping_early_leaves_no_request_running():
    server = Server(chain(10), delay=0.02)
    gen = paginate(server.parsed, "/t", {}, "trades", decode=decode, fetch_raw=server.raw)
    first = next(gen)
    assert first.items == ("t0",)
    gen.close()  # page 2 was requested ahead: awaited and dropped
    assert server.in_flight == 0
    assert [c for c, _ in server.calls] == [None, "c1"]
    time.sleep(0.05)
    assert len(server.calls) == 2  # nothing more requested after close


def test_error_fetching_ahead_is_raised_after_the_pages_before_it():
    server = Server(chain(5), fail_at="c3")
    got = []
    with pytest.raises(ConnectionError, match="boom at c3"):
        for page in paginate(server.parsed, "/t", {}, "trades", decode=decode, fetch_raw=server.raw):
            got.append(page.items)
    assert got == [("t0",), ("t1",), ("t2",)]
    assert [c for c, _ in server.calls] == [None, "c1", "c2", "c3"]


def test_repeated_cursor_stops_before_the_page_is_requested_again():
    pages = {None: body(0, "a"), "a": body(1, "a")}
    server = Server(pages)
    got = []
    with pytest.raises(PaginationError, match="again"):
        for page in paginate(server.parsed, "/t", {}, "trades", decode=decode, fetch_raw=server.raw):
            got.append(page.items)
    assert got == [("t0",)]
    assert [c for c, _ in server.calls] == [None, "a"]  # the looping cursor is never requested


def test_resume_from_a_checkpoint_cursor_with_prefetch():
    pages = chain(6)
    full = run(Server(pages))
    resumed = run(Server(pages), cursor=full[2].cursor)
    assert [p.items for p in resumed] == [p.items for p in full[3:]]


def test_plain_pages_are_not_prefetched_unless_asked():
    pages = chain(3)
    server = Server(pages)
    got = list(paginate(server.parsed, "/t", {}, "trades"))
    assert len(got) == 3 and server.calls == []  # plain fetches went through ``parsed``
    calls: list = []

    def parsed(path, params):
        calls.append(threading.current_thread().name)
        return server.parsed(path, params)

    list(paginate(parsed, "/t", {}, "trades"))
    assert set(calls) == {threading.current_thread().name}
    calls.clear()
    list(paginate(parsed, "/t", {}, "trades", prefetch=True))
    assert calls[0] == threading.current_thread().name and all(c.startswith("page-ahead") for c in calls[1:])
