"""Column-wise page decoding (``BodyDecoder``): a page it takes gives the very batch the row path gives, and every
page it cannot prove exact goes to the row path (counted), so odd values still land in ``_extra``."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from kalshi_extract.api.paginator import paginate
from kalshi_extract.errors import PaginationError
from kalshi_extract.lake.convert import BodyDecoder, Converter, PageColumns
from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema
from tests.shared_paths import REAL_DATA

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def conv(stream: str = "trades") -> Converter:
    return Converter(stream, STREAM_COLUMNS[stream], arrow_schema(stream), run_id="r", loaded_at=NOW)


def decoder() -> BodyDecoder:
    d = BodyDecoder.for_stream("trades", STREAM_COLUMNS["trades"], "trades")
    assert d is not None
    return d


def trade(i: int, **over) -> dict:
    t = {
        "count_fp": "136.00",
        "created_time": "2022-11-22T20:44:01.12345Z",
        "is_block_trade": False,
        "no_price_dollars": "0.6400",
        "taker_book_side": "ask",
        "taker_outcome_side": "no",
        "taker_side": "no",
        "ticker": "X-1",
        "trade_id": f"t{i}",
        "yes_price_dollars": "0.3600",
    }
    t.update(over)
    return t


def without(d: dict, key: str) -> dict:
    return {k: v for k, v in d.items() if k != key}


def body(items, cursor="c1", **top) -> bytes:
    return orjson.dumps({"cursor": cursor, "trades": items, **top})


# pages the decoder takes: the batch must equal the row path's
FAST = {
    "plain": body([trade(i) for i in range(5)]),
    "empty page": body([]),
    "no cursor": orjson.dumps({"trades": [trade(0)]}),
    "null cursor": body([trade(0)], cursor=None),
    "a missing field": body([trade(0), without(trade(1), "taker_side")]),
    "a null value": body([trade(0, yes_price_dollars=None, is_block_trade=None)]),
    "escapes and non-ASCII": body([trade(0, ticker='KX-\u00e9"\\\n')]),
    "fields in another order": b'{"trades":[{"trade_id":"a","yes_price_dollars":"0.5","ticker":"T"}],"cursor":"z"}',
}

# pages it must refuse (the row path keeps the odd value in _extra, or the paginator reports the page)
ROW = {
    "unknown item field": body([trade(0, new_field=1)]),
    "legacy cents field": body([trade(0, yes_price=36)]),
    "unknown top-level key": body([trade(0)], milestones=[]),
    "number where a string is": body([trade(0, yes_price_dollars=0.5)]),
    "integer where a string is": body([trade(0, count_fp=5)]),
    "text where a boolean is": body([trade(0, is_block_trade="true")]),
    "object where a string is": body([trade(0, ticker={"a": 1})]),
    "empty decimal (unset optional)": body([trade(0, count_fp="")]),
    "money with 7 decimals": body([trade(0, no_price_dollars="0.1234567")]),
    "time with nanoseconds": body([trade(0, created_time="2022-11-22T20:44:01.123456789Z")]),
    "empty time": body([trade(0, created_time="")]),
    "not a time": body([trade(0, created_time="yesterday")]),
    "a field twice": b'{"cursor":"c","trades":[{"trade_id":"a","trade_id":"b"}]}',
    "a null item": b'{"cursor":"c","trades":[null]}',
    "null list": b'{"cursor":"c","trades":null}',
    "no data list": b'{"cursor":"c"}',
    "cursor is a number": b'{"cursor":5,"trades":[]}',
    "two objects": body([trade(0)]) + b"\n" + body([trade(1)]),
    "truncated": body([trade(0)])[:-5],
    "not an object": b"[1,2]",
}


@pytest.mark.parametrize("name", FAST)
def test_decoded_page_equals_row_path(name):
    raw = FAST[name]
    dec = decoder()
    got = dec.decode(raw)
    assert got is not None, f"{name}: the decoder should take this page"
    cols, cursor = got
    data = orjson.loads(raw)
    assert cursor == data.get("cursor")
    assert isinstance(cols, PageColumns) and len(cols) == len(data["trades"])
    assert conv().convert(cols).equals(conv().convert(data["trades"]))
    assert (dec.fast_pages, dec.row_pages) == (1, 0)


@pytest.mark.parametrize("name", ROW)
def test_pages_it_cannot_prove_exact_go_to_the_row_path(name):
    dec = decoder()
    assert dec.decode(ROW[name]) is None
    assert (dec.fast_pages, dec.row_pages) == (0, 1)


def test_odd_value_still_kept_in_extra_through_the_paginator():
    """An odd page goes to the row path: the unfit value lands null and is kept in ``_extra``."""
    pages = {
        None: body([trade(0), trade(1, no_price_dollars="0.1234567")], cursor="a"),
        "a": body([trade(2)], None),
    }
    dec = decoder()
    got = list(
        paginate(parsing(pages), "/markets/trades", {}, "trades", decode=dec.decode, fetch_raw=raw(pages))
    )
    first, second = (conv().convert(p.items) for p in got)
    assert isinstance(got[0].items, list) and isinstance(got[1].items, PageColumns)
    assert first.column("no_price_dollars").null_count == 1
    assert orjson.loads(first.column("_extra")[1].as_py()) == {"no_price_dollars": "0.1234567"}
    assert second.num_rows == 1 and second.column("_extra").null_count == 1
    assert (dec.fast_pages, dec.row_pages) == (1, 1)


def raw(pages: dict, calls: list | None = None):
    def fetch(path, params):
        if calls is not None:
            calls.append(("raw", params.get("cursor")))
        return pages[params.get("cursor")], None

    return fetch


def parsing(pages: dict, calls: list | None = None, fixed: dict | None = None):
    def fetch(path, params):
        if calls is not None:
            calls.append(("parsed", params.get("cursor")))
        b = (fixed or pages)[params.get("cursor")]
        return b, orjson.loads(b)

    return fetch


def test_malformed_raw_body_is_fetched_again_through_the_retrying_fetch():
    good = body([trade(0)], None)
    calls: list = []
    pages = list(
        paginate(
            parsing({}, calls, fixed={None: good}),
            "/markets/trades",
            {},
            "trades",
            decode=decoder().decode,
            fetch_raw=raw({None: good[:-3]}, calls),
        )
    )
    assert calls == [("raw", None), ("parsed", None)]
    assert len(pages) == 1 and pages[0].items == orjson.loads(good)["trades"]


def test_paginator_checks_still_apply_to_refused_pages():
    with pytest.raises(PaginationError, match="no 'trades' list"):
        list(
            paginate(
                parsing({}), "/x", {}, "trades", decode=decoder().decode, fetch_raw=raw({None: b'{"c":1}'})
            )
        )
    with pytest.raises(PaginationError, match="cursor is int"):
        list(
            paginate(
                parsing({}),
                "/x",
                {},
                "trades",
                decode=decoder().decode,
                fetch_raw=raw({None: ROW["cursor is a number"]}),
            )
        )


def test_repeated_cursor_still_stops_decoded_pages():
    pages = {None: body([trade(0)], "a"), "a": body([trade(1)], "a")}
    with pytest.raises(PaginationError, match="again"):
        list(paginate(parsing(pages), "/x", {}, "trades", decode=decoder().decode, fetch_raw=raw(pages)))


def test_only_streams_of_plain_kinds_get_a_decoder():
    assert (
        BodyDecoder.for_stream("fills", STREAM_COLUMNS["fills"], "fills") is not None
    )  # SAME_AS, int columns
    assert BodyDecoder.for_stream("markets", STREAM_COLUMNS["markets"], "markets") is None  # JSON numbers
    assert BodyDecoder.for_stream("trades", STREAM_COLUMNS["trades"], None) is None


REAL_TRADES = [
    REAL_DATA / "manta_prod" / "trades_window.json",
    REAL_DATA / "fortuna_demo" / "trades__public_recorded.json",
]


@pytest.mark.parametrize("path", REAL_TRADES, ids=lambda p: p.parent.name)
def test_recorded_real_pages_decode_exactly_as_the_row_path(path):
    if not path.exists():
        pytest.skip("recorded responses not available")
    raw_body = path.read_bytes()
    dec = decoder()
    got = dec.decode(raw_body)
    data = orjson.loads(raw_body)
    assert got is not None, "a genuine trades page should take the column-wise path"
    assert got[1] == data.get("cursor")
    assert conv().convert(got[0]).equals(conv().convert(data["trades"]))


def test_pull_decodes_trades_column_wise_and_lands_what_the_row_path_lands(exchange, tmp_path, monkeypatch):
    """A real pull takes the column-wise path for trades pages, and its lake equals a pull with it switched off."""
    from kalshi_extract.ingest import pull as pull_mod
    from kalshi_extract.ingest.pull import Selection, pull_stream
    from tests.lake.helpers import client_and_lake

    acct = exchange.create_account(balance_cents=1_000_000)
    decoders: list[BodyDecoder] = []
    real_for_stream = BodyDecoder.for_stream

    def spy(*args):
        d = real_for_stream(*args)
        if d is not None:
            decoders.append(d)
        return d

    monkeypatch.setattr(pull_mod.BodyDecoder, "for_stream", spy)
    client, lake, _ = client_and_lake(acct, tmp_path / "fast")
    assert pull_stream(client, lake, "trades", Selection()).ok
    counts = [(d.fast_pages, d.row_pages) for d in decoders]
    assert sum(f for f, _ in counts) > 0 and sum(r for _, r in counts) == 0, counts

    monkeypatch.setattr(pull_mod.BodyDecoder, "for_stream", lambda *a: None)
    client2, lake2, _ = client_and_lake(acct, tmp_path / "rows")
    assert pull_stream(client2, lake2, "trades", Selection()).ok

    def rows(lk):
        t = lk.read("trades").drop_columns(["_loaded_at", "_run_id"])
        return sorted(t.to_pylist(), key=lambda r: r["trade_id"])

    fast, slow = rows(lake), rows(lake2)
    assert fast and fast == slow
