"""The one cursor paginator: stop rules, repeated cursors, resume, malformed pages, one page in memory."""

from __future__ import annotations

import gc
import weakref

import pytest

from kalshi_extract import KalshiClient
from kalshi_extract.api.paginator import paginate
from kalshi_extract.errors import PaginationError

from .conftest import Reply, local_settings


class Data(dict):
    """A dict that can be weak-referenced (to prove the paginator lets go of old pages)."""


def scripted(pages: dict):
    """fetch() serving pages keyed by the request cursor (None for the first page); records the queries."""
    calls = []

    def fetch(path, params):
        calls.append(dict(params))
        data = pages[params.get("cursor")]
        return b"raw", Data(data) if isinstance(data, dict) else data

    return fetch, calls


@pytest.mark.parametrize(
    "end", [{"cursor": ""}, {"cursor": None}, {}], ids=["empty-string", "null", "missing"]
)
def test_stops_on_empty_null_or_missing_cursor(end):
    fetch, calls = scripted({None: {"trades": [1, 2], "cursor": "c1"}, "c1": {"trades": [3], **end}})
    pages = list(paginate(fetch, "/markets/trades", {"ticker": "X"}, "trades"))
    assert [p.items for p in pages] == [[1, 2], [3]]
    assert [p.cursor for p in pages] == ["c1", None]
    assert [p.request_cursor for p in pages] == [None, "c1"]
    assert [p.number for p in pages] == [1, 2]
    assert calls == [{"ticker": "X"}, {"ticker": "X", "cursor": "c1"}]


def test_repeated_cursor_raises():
    fetch, _ = scripted(
        {
            None: {"trades": [1], "cursor": "a"},
            "a": {"trades": [2], "cursor": "b"},
            "b": {"trades": [3], "cursor": "a"},
        }
    )
    seen = []
    with pytest.raises(PaginationError, match="again"):
        for page in paginate(fetch, "/markets/trades", None, "trades"):
            seen.extend(page.items)
    assert seen == [1, 2]  # pages before the loop were delivered


def test_cursor_equal_to_resume_cursor_raises():
    fetch, _ = scripted({"r": {"trades": [1], "cursor": "r"}})
    with pytest.raises(PaginationError):
        list(paginate(fetch, "/markets/trades", None, "trades", cursor="r"))


def test_resume_from_cursor_ignores_cursor_in_params():
    fetch, calls = scripted({"c2": {"trades": [5], "cursor": ""}})
    pages = list(
        paginate(fetch, "/markets/trades", {"cursor": "stale", "limit": 1000}, "trades", cursor="c2")
    )
    assert pages[0].items == [5] and pages[0].request_cursor == "c2"
    assert calls == [{"limit": 1000, "cursor": "c2"}]


@pytest.mark.parametrize(
    "bad,match",
    [
        ([1, 2], "JSON object"),
        ({"cursor": ""}, "no 'trades'"),
        ({"trades": {"a": 1}, "cursor": ""}, "not a list"),
        ({"trades": [], "cursor": 17}, "cursor is int"),
    ],
)
def test_malformed_pages_raise(bad, match):
    fetch, _ = scripted({None: bad})
    with pytest.raises(PaginationError, match=match):
        list(paginate(fetch, "/markets/trades", None, "trades"))


def test_null_list_is_an_empty_page():
    fetch, _ = scripted({None: {"trades": None, "cursor": ""}})
    pages = list(paginate(fetch, "/markets/trades", None, "trades"))
    assert len(pages) == 1 and pages[0].items == []


def test_only_one_page_held():
    refs = []

    def fetch(path, params):
        gc.collect()
        assert all(r() is None for r in refs), "the paginator still references an earlier page"
        n = len(refs)
        data = Data(trades=[{"i": n}], cursor=f"c{n + 1}" if n < 4 else "")
        refs.append(weakref.ref(data))
        return b"x", data

    gen = paginate(fetch, "/markets/trades", None, "trades")
    count = 0
    for page in gen:
        count += 1
        del page  # the caller drops its page; the paginator must not keep one
    assert count == 5


def test_client_paginate_against_server_and_typed_resume(server):
    pages = {
        "": Reply(200, {"trades": [{"trade_id": "t1"}, {"trade_id": "t2"}], "cursor": "k1"}),
        "k1": Reply(200, {"trades": [{"trade_id": "t3"}], "cursor": ""}),
    }
    server.route("GET", "/markets/trades", lambda seen: pages[seen.query.get("cursor", [""])[0]])
    with KalshiClient(local_settings(server)) as c:
        got = [
            (p.number, [t["trade_id"] for t in p.items], p.cursor, bytes(p.body)[:10])
            for p in c.paginate("/markets/trades", {"ticker": "X", "limit": 2})
        ]
        assert got == [(1, ["t1", "t2"], "k1", b'{"trades":'), (2, ["t3"], None, b'{"trades":')]
        assert [t["trade_id"] for t in c.get_trades(cursor="k1")] == ["t3"]  # resume via typed method
    queries = [s.query for s in server.calls("GET", "/markets/trades")]
    assert queries[0] == {"ticker": ["X"], "limit": ["2"]}
    assert queries[1] == {"ticker": ["X"], "limit": ["2"], "cursor": ["k1"]}
    assert queries[2] == {"limit": ["1000"], "cursor": ["k1"]}
