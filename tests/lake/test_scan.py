"""The page scanner (``kalshi_extract.lake.scan``): a page it accepts gives exactly what a JSON parser reads from it
(pyarrow's strict reader, and orjson for the values); every other page is refused (None) and ``BodyDecoder`` then
decodes it as before, so the lake gets the very same batch either way."""

from __future__ import annotations

import random

import orjson
import pyarrow as pa
import pytest

from kalshi_extract.lake.convert import BodyDecoder
from kalshi_extract.lake.scan import PageScanner
from kalshi_extract.lake.schemas import STREAM_COLUMNS
from tests.shared_paths import REAL_DATA

COLS = STREAM_COLUMNS["trades"]
NAMES = [c.name for c in COLS]
TEXTS = [c.kind != "bool" for c in COLS]


def trade(i: int, **over) -> dict:
    t = {
        "count_fp": "136.00",
        "created_time": "2022-11-22T20:44:01.12345Z",
        "is_block_trade": i % 3 == 0,
        "no_price_dollars": "0.6400",
        "taker_book_side": "ask",
        "taker_outcome_side": "no",
        "taker_side": "no",
        "ticker": f"KX-{i % 7}-{'B' * (i % 4)}",
        "trade_id": f"id-{i:05d}",
        "yes_price_dollars": "0.3600",
    }
    t.update(over)
    return t


def page(items, cursor="c1", items_first=False) -> bytes:
    if items_first:
        return orjson.dumps({"trades": items, "cursor": cursor})
    return orjson.dumps({"cursor": cursor, "trades": items})


def scanner() -> PageScanner:
    return PageScanner(NAMES, TEXTS, "trades")


def reader_only() -> BodyDecoder:
    d = BodyDecoder.for_stream("trades", COLS, "trades")
    d._scanner = None  # pyarrow's strict JSON reader alone: the decoder as it was before the scanner
    return d


def with_scanner() -> BodyDecoder:
    d = BodyDecoder.for_stream("trades", COLS, "trades")
    assert d._scanner is not None
    return d


def assert_as_parsed(body: bytes, got) -> None:
    """What the scanner gave is what orjson reads: same rows, cursor, every value of every field."""
    values, n, cursor = got
    data = orjson.loads(body)
    assert cursor == data["cursor"]
    assert n == len(data["trades"])
    for item in data["trades"]:
        assert set(item) == set(NAMES)
    for name in NAMES:
        assert values[name].to_pylist() == [item[name] for item in data["trades"]], name


def assert_same_decode(body: bytes) -> None:
    """``BodyDecoder`` with the scanner gives the reader-only decoder's very columns (or both refuse)."""
    a, b = with_scanner().decode(body), reader_only().decode(body)
    assert (a is None) == (b is None)
    if a is not None:
        assert a[1] == b[1]
        assert a[0].n == b[0].n
        for x, y in zip(a[0].arrays, b[0].arrays, strict=True):
            assert x.type == y.type
            assert x.equals(y)


ODD_ORDER = {k: trade(0)[k] for k in reversed(NAMES)}

ACCEPTED = {
    "plain": page([trade(i) for i in range(50)]),
    "one item": page([trade(1)]),
    "items first, cursor last": page([trade(i) for i in range(5)], items_first=True),
    "empty cursor (the last page)": page([trade(i) for i in range(3)], cursor=""),
    "keys in another order, the same in every item": orjson.dumps(
        {"cursor": "z", "trades": [dict(reversed(list(trade(i).items()))) for i in range(4)]}
    ),
    "spaces and JSON punctuation inside values": page(
        [trade(0, ticker="a b,c:d{e}f[g]h", trade_id=" x "), trade(1, taker_side="")]
    ),
    "odd values the casts then judge": page([trade(0, count_fp="", created_time="yesterday")]),
    "a thousand items": page([trade(i) for i in range(1000)]),
}

REFUSED = {
    "an escape": page([trade(0, ticker='K"X')]),
    "a backslash escape": page([trade(0, ticker="K\\X")]),
    "non-ASCII": page([trade(0, ticker="KX-\u00e9")]),
    "a newline escape": page([trade(0, ticker="a\nb")]),
    "whitespace between tokens": orjson.dumps(
        {"cursor": "c", "trades": [trade(0)]}, option=orjson.OPT_INDENT_2
    ),
    "an unknown field": page([trade(0, extra="x")]),
    "an unknown field in a later item": page([trade(0), trade(1, extra="x")]),
    "a missing field": page([{k: v for k, v in trade(0).items() if k != "taker_side"}]),
    "a missing field in a later item": page([trade(0), {k: v for k, v in trade(1).items() if k != "ticker"}]),
    "another key order in a later item": page([trade(0), ODD_ORDER]),
    "a null value": page([trade(0, yes_price_dollars=None)]),
    "a null boolean": page([trade(0, is_block_trade=None)]),
    "a number where a string is": page([trade(0, yes_price_dollars=0.5)]),
    "an integer where a string is": page([trade(0, count_fp=5)]),
    "a string where a boolean is": page([trade(0, is_block_trade="true")]),
    "an object where a string is": page([trade(0, ticker={"a": "b"})]),
    "a list where a string is": page([trade(0, ticker=["a"])]),
    "an integer where a boolean is": page([trade(0, is_block_trade=1)]),
    "null cursor": page([trade(0)], cursor=None),
    "no cursor": orjson.dumps({"trades": [trade(0)]}),
    "an unknown top-level key": orjson.dumps({"cursor": "c", "trades": [trade(0)], "milestones": []}),
    "empty page": page([]),
    "null data list": orjson.dumps({"cursor": "c", "trades": None}),
    "a null item": page([trade(0), None]),
    "another data key": orjson.dumps({"cursor": "c", "fills": [trade(0)]}),
    "two JSON objects": page([trade(0)]) + page([trade(1)]),
    "trailing bytes": page([trade(0)]) + b"x",
    "a duplicated field": page([trade(0)]).replace(b'"ticker":', b'"ticker":"dup","ticker":', 1),
    "a field sent twice in a later item": page([trade(0), trade(1)]).replace(
        b'"taker_side":"no","ticker":"KX-1-B"', b'"taker_side":"no","taker_side":"no","ticker":"KX-1-B"'
    ),
    "true with a capital": page([trade(0, is_block_trade=True)]).replace(b"true", b"True"),
    "truncated": page([trade(i) for i in range(3)])[:-3],
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_pages_give_what_a_json_parser_reads(name):
    body = ACCEPTED[name]
    got = scanner().scan(body)
    assert got is not None, f"{name}: refused"
    assert_as_parsed(body, got)
    assert_same_decode(body)


@pytest.mark.parametrize("name", REFUSED)
def test_other_pages_are_refused_and_decode_as_before(name):
    body = REFUSED[name]
    assert scanner().scan(body) is None
    assert_same_decode(body)


def test_a_boolean_as_the_last_field_of_an_item_and_of_the_page():
    names = ["a", "flag"]
    sc = PageScanner(names, [True, False], "trades")
    for items_first in (False, True):
        body = page(
            [{"a": "x", "flag": True}, {"a": "y", "flag": False}, {"a": "", "flag": True}], "k", items_first
        )
        values, n, cursor = sc.scan(body)
        assert (n, cursor) == (3, "k")
        assert values["flag"].to_pylist() == [True, False, True]
        assert values["a"].to_pylist() == ["x", "y", ""]
        for bad in (b"true}", b"false}"):
            odd = body.replace(bad, bad.replace(b"}", b" }"), 1)
            assert sc.scan(odd) is None


@pytest.mark.parametrize(
    "path", sorted(REAL_DATA.rglob("trades*.json")), ids=lambda p: p.parent.name + "/" + p.name
)
def test_recorded_real_pages_are_scanned_exactly(path):
    body = path.read_bytes()
    data = orjson.loads(body)
    if not isinstance(data, dict) or "trades" not in data:
        pytest.skip("not a trades page")
    got = scanner().scan(body)
    assert got is not None  # the real API's compact form (keys sorted, cursor first)
    assert_as_parsed(body, got)
    assert_same_decode(body)


def test_decoder_counts_scanned_pages():
    d = with_scanner()
    d.decode(ACCEPTED["plain"])
    d.decode(REFUSED["an escape"])
    assert (d.scanned_pages, d.fast_pages) == (1, 2)


def test_random_byte_edits_are_refused_or_read_exactly():
    """Fuzz: one byte changed, inserted or deleted anywhere in a page. Whatever the scanner accepts must be valid
    JSON of exactly the columns, and give exactly what orjson reads (and the reader-only decoder's columns)."""
    rng = random.Random(20)
    base = page([trade(i) for i in range(4)], cursor="cur")
    alphabet = b'"{}[],:tfnrue0123456789 .-aA\\\x01\xc3'
    sc = scanner()
    accepted = 0
    for _ in range(3000):
        pos = rng.randrange(len(base))
        op = rng.randrange(3)
        ch = bytes([rng.choice(alphabet)])
        if op == 0:
            body = base[:pos] + ch + base[pos + 1 :]
        elif op == 1:
            body = base[:pos] + ch + base[pos:]
        else:
            body = base[:pos] + base[pos + 1 :]
        got = sc.scan(body)
        if got is None:
            continue
        accepted += 1
        assert_as_parsed(body, got)  # raises when the edit made invalid JSON or another shape
        if accepted % 25 == 0:
            assert_same_decode(body)
    assert accepted > 100  # edits inside values are accepted (and read exactly)


def test_scanned_columns_are_arrow_strings_and_booleans():
    values, n, _ = scanner().scan(ACCEPTED["plain"])
    assert n == 50
    for c in COLS:
        assert values[c.name].type == (pa.bool_() if c.kind == "bool" else pa.string())
        values[c.name].validate(full=True)
