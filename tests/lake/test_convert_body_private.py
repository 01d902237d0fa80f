"""Column-wise page decoding of fills, orders and settlements (integer, Unix-second and ``SAME_AS`` columns): a page
the decoder takes gives the very batch the row path gives, and a page it cannot prove exact goes to the row path.

Pages: genuine recorded responses from ``/work/shared/real-data`` and adversarial variants of them."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import orjson
import pytest

from kalshi_extract.lake.convert import BodyDecoder, Converter, PageColumns, stamp_items
from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema
from tests.shared_paths import REAL_DATA

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
STREAMS = ("fills", "orders", "settlements")

REAL = {
    "fills": [
        REAL_DATA / "fortuna_demo" / "fills__after_taker.json",
        REAL_DATA / "kalshi_docs" / "docsample_fills_response.json",
    ],
    "orders": [REAL_DATA / "fortuna_demo" / "portfolio__orders_list.json"],
    "settlements": [
        REAL_DATA / "kalshi_docs" / "docsample_settlements_response.json",
        REAL_DATA / "fortuna_demo" / "settlements__page.json",
    ],
}


def conv(stream: str) -> Converter:
    return Converter(
        stream, STREAM_COLUMNS[stream], arrow_schema(stream), run_id="r", loaded_at=NOW, account="acct"
    )


def decoder(stream: str) -> BodyDecoder:
    d = BodyDecoder.for_stream(stream, STREAM_COLUMNS[stream], stream)
    assert d is not None, stream
    return d


def real_page(stream: str) -> dict:
    """The first recorded page of ``stream`` with at least one item."""
    for path in REAL[stream]:
        if not path.exists():
            pytest.skip("recorded responses not available")
        data = orjson.loads(path.read_bytes())
        if data[stream]:
            return data
    raise AssertionError(f"no recorded {stream} page with items")


def same_as_row_path(stream: str, raw: bytes) -> tuple[bool, object]:
    """Decode ``raw``; when the decoder takes it, assert its batch equals the row path's. Returns (taken, batch)."""
    dec = decoder(stream)
    got = dec.decode(raw)
    data = orjson.loads(raw)
    rows = conv(stream).convert(data[stream] or [])
    if got is None:
        assert (dec.fast_pages, dec.row_pages) == (0, 1)
        return False, rows
    cols, cursor = got
    assert cursor == data.get("cursor")
    assert isinstance(cols, PageColumns) and len(cols) == len(data[stream] or [])
    fast = conv(stream).convert(cols)
    assert fast.equals(rows), f"{stream}: the decoded batch differs from the row path's"
    return True, fast


@pytest.mark.parametrize("stream", STREAMS)
def test_recorded_real_pages_decode_exactly_as_the_row_path(stream):
    for path in REAL[stream]:
        if not path.exists():
            pytest.skip("recorded responses not available")
        taken, _ = same_as_row_path(stream, path.read_bytes())
        assert taken, f"{path.name}: a genuine {stream} page should take the column-wise path"


def test_fill_unix_seconds_and_integers_land_as_the_row_path_lands():
    data = real_page("fills")
    _, batch = same_as_row_path("fills", orjson.dumps(data))
    first = data["fills"][0]
    assert batch.column("ts")[0].as_py() == datetime.fromtimestamp(first["ts"], UTC)
    assert batch.column("subaccount_number").null_count == 0 or "subaccount_number" not in first
    assert batch.column("_extra").null_count == batch.num_rows


def variant(stream: str, change) -> bytes:
    data = copy.deepcopy(real_page(stream))
    change(data[stream][0])
    return orjson.dumps(data)


def _set(**kv):
    return lambda item: item.update(kv)


def _drop(*keys):
    def change(item):
        for k in keys:
            item.pop(k, None)

    return change


# (stream, change to the first item) → the decoder takes the page (its batch equals the row path's)
TAKEN = {
    "fill without fill_id (filled from trade_id)": ("fills", _drop("fill_id")),
    "fill with null fill_id and ticker": ("fills", _set(fill_id=None, ticker=None)),
    "fill without ts": ("fills", _drop("ts")),
    "fill with null is_taker": ("fills", _set(is_taker=None)),
    "order with null expiration_time": ("orders", _set(expiration_time=None)),
    "order with cancel_order_on_pause": ("orders", _set(cancel_order_on_pause=True)),
    "settlement with null revenue": ("settlements", _set(revenue=None)),
    "settlement with a negative value": ("settlements", _set(value=-5)),
}

# → the page goes to the row path (odd values kept in _extra there), and the row path still lands every row
REFUSED = {
    "fill with an unknown field": ("fills", _set(new_field="x")),
    "fill with yes_price_fixed (SAME_AS source, not a column)": ("fills", _set(yes_price_fixed="0.5200")),
    "fill ts as RFC3339 text": ("fills", _set(ts="2026-06-11T06:29:30Z")),
    "fill ts as a fraction": ("fills", _set(ts=1781159370.5)),
    "fill ts past the timestamp range": ("fills", _set(ts=10**17)),
    "fill subaccount as text": ("fills", _set(subaccount_number="0")),
    "fill subaccount as 1.0": ("fills", _set(subaccount_number=1.0)),
    "fill subaccount past int64": ("fills", _set(subaccount_number=2**63)),
    "fill fee with 7 decimals": ("fills", _set(fee_cost="0.0175001")),
    "fill fee as a number": ("fills", _set(fee_cost=0.0175)),
    "fill is_taker as text": ("fills", _set(is_taker="true")),
    "fill count empty": ("fills", _set(count_fp="")),
    "fill legacy cents price": ("fills", _set(yes_price=52)),
    "order with an empty time": ("orders", _set(expiration_time="")),
    "order with nanoseconds": ("orders", _set(last_update_time="2026-06-11T06:29:30.164956123Z")),
    "order price 7 decimals": ("orders", _set(yes_price_dollars="0.99000001")),
    "order with an unknown field": ("orders", _set(queue_position=3)),
    "settlement revenue as text": ("settlements", _set(revenue="1000")),
    "settlement revenue as dollars": ("settlements", _set(revenue=10.5)),
    "settlement with revenue_dollars (newer spelling)": ("settlements", _set(revenue_dollars="10.00")),
    "settlement value as a boolean": ("settlements", _set(value=True)),
}


@pytest.mark.parametrize("name", TAKEN)
def test_pages_taken_equal_the_row_path(name):
    stream, change = TAKEN[name]
    taken, _ = same_as_row_path(stream, variant(stream, change))
    assert taken, f"{name}: the decoder should take this page"


@pytest.mark.parametrize("name", REFUSED)
def test_pages_it_cannot_prove_exact_go_to_the_row_path(name):
    stream, change = REFUSED[name]
    raw = variant(stream, change)
    taken, rows = same_as_row_path(stream, raw)
    assert not taken, f"{name}: the decoder must refuse this page"
    assert rows.num_rows == len(orjson.loads(raw)[stream])  # nothing dropped on the row path


def test_fill_id_coalesced_from_trade_id_like_the_row_path():
    _, batch = same_as_row_path("fills", variant("fills", _set(fill_id=None)))
    first = real_page("fills")["fills"][0]
    assert batch.column("fill_id")[0].as_py() == first["trade_id"]


def test_stamp_sets_a_column_as_the_row_path_does():
    data = real_page("settlements")
    raw = orjson.dumps(data)
    cols, _ = decoder("settlements").decode(raw)
    stamp = {"subaccount_number": 3}
    fast = conv("settlements").convert(stamp_items(cols, stamp))
    rows = conv("settlements").convert(stamp_items(data["settlements"], stamp))
    assert fast.equals(rows)
    assert fast.column("subaccount_number").to_pylist() == [3] * len(data["settlements"])
    with pytest.raises(ValueError, match="does not know"):
        cols.stamped({"no_such_field": 1})


def test_streams_with_json_number_columns_get_no_decoder():
    assert BodyDecoder.for_stream("markets", STREAM_COLUMNS["markets"], "markets") is None
    assert BodyDecoder.for_stream("events", STREAM_COLUMNS["events"], "events") is None


@pytest.mark.slow
def test_pull_of_private_streams_decodes_column_wise_and_lands_what_the_row_path_lands(
    exchange, tmp_path, monkeypatch
):
    """Fills, orders and settlements pulled with the decoder equal a pull with it switched off, and the decoder
    took their pages."""
    from kalshi_extract.ingest import pull as pull_mod
    from kalshi_extract.ingest.pull import Selection, pull
    from tests.lake.helpers import assert_same_lake, client_and_lake, trade_some

    acct = exchange.create_account(balance_cents=10_000_000)
    client, lake, _ = client_and_lake(acct, tmp_path / "fast")
    assert trade_some(client, n=4) == 4
    exchange.advance(seconds=36 * 3600)  # fills of the resting bids, settlements
    decoders: list[BodyDecoder] = []
    real_for_stream = BodyDecoder.for_stream

    def spy(*args):
        d = real_for_stream(*args)
        if d is not None:
            decoders.append(d)
        return d

    monkeypatch.setattr(pull_mod.BodyDecoder, "for_stream", spy)
    assert pull(client, lake, list(STREAMS), Selection()).ok
    by_stream: dict = {}
    for d in decoders:
        f, r = by_stream.get(d.stream, (0, 0))
        by_stream[d.stream] = (f + d.fast_pages, r + d.row_pages)
    for stream in STREAMS:
        assert by_stream.get(stream, (0, 0))[0] > 0 and by_stream[stream][1] == 0, by_stream

    monkeypatch.setattr(pull_mod.BodyDecoder, "for_stream", lambda *a: None)
    client2, lake2, _ = client_and_lake(acct, tmp_path / "rows")
    assert pull(client2, lake2, list(STREAMS), Selection()).ok
    sizes = assert_same_lake(lake, lake2, streams=("fills", "settlements", "orders"))
    assert sizes["fills"] >= 4 and sizes["settlements"] >= 1 and sizes["orders"] >= 4, sizes
