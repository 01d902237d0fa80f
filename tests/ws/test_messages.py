"""The genuine frames recorded on the demo exchange, and the spec's message shapes, parse exactly."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from kalshi_extract.ws import (
    CHANNELS,
    PRIVATE_CHANNELS,
    EventFeeUpdate,
    Fill,
    MarketLifecycle,
    MarketPosition,
    Message,
    OrderbookDelta,
    OrderbookSnapshot,
    OrderGroupUpdate,
    Ticker,
    Trade,
    UserOrder,
    decode_frame,
    parse_message,
)
from tests.shared_paths import REAL_DATA

FRAMES = REAL_DATA / "fortuna_demo" / "ws__orderbook_trade_yes.jsonl"
AT = datetime(2026, 6, 11, 6, 29, 47, tzinfo=UTC)
TICKER = "KXWTACHALLENGERMATCH-26JUN11JIMLEP-LEP"
MARKET_ID = "f5ed38e2-0991-4c8f-817e-08c4fd9cbfdb"


def _parse(frame):
    return parse_message(
        frame if isinstance(frame, dict) else decode_frame(frame), received_at=AT, connection_id=3
    )


def test_genuine_frames_parse_exactly():
    lines = [line for line in FRAMES.read_text().splitlines() if line.strip()]
    frames = [decode_frame(line) for line in lines]
    assert [f["type"] for f in frames] == [
        "subscribed",
        "subscribed",
        "orderbook_snapshot",
        "orderbook_delta",
        "orderbook_delta",
    ]
    snap, d1, d2 = (_parse(f) for f in frames[2:])

    assert type(snap) is OrderbookSnapshot
    assert (snap.sid, snap.seq, snap.market_ticker, snap.market_id) == (1, 1, TICKER, MARKET_ID)
    assert snap.yes == ((Decimal("0.4700"), Decimal("3.00")),)
    assert snap.no == ((Decimal("0.5200"), Decimal("1.00")),)
    assert str(snap.yes[0][0]) == "0.4700" and str(snap.no[0][1]) == "1.00"  # scale kept, no float on the way
    assert snap.ts_ms is None and snap.connection_id == 3 and snap.received_at == AT

    assert type(d1) is OrderbookDelta
    assert (d1.sid, d1.seq, d1.market_ticker, d1.market_id, d1.side) == (1, 2, TICKER, MARKET_ID, "no")
    assert d1.price == Decimal("0.5200") and str(d1.price) == "0.5200"
    assert d1.delta == Decimal("-1.00") and str(d1.delta) == "-1.00"
    assert d1.ts_ms == 1781159387354
    assert d1.data["ts"] == "2026-06-11T06:29:47.354803Z" and d1.client_order_id is None
    assert (d2.seq, d2.delta, d2.price, d2.ts_ms) == (3, Decimal("2.00"), Decimal("0.5200"), 1781159387427)
    # the whole frame is kept as decoded, for the lake's _extra
    assert d2.raw == frames[4] and set(d2.data) == {
        "market_ticker",
        "market_id",
        "price_dollars",
        "delta_fp",
        "side",
        "ts",
        "ts_ms",
    }


def test_ts_ms_falls_back_to_ts():
    delta = {
        "type": "orderbook_delta",
        "sid": 1,
        "seq": 2,
        "msg": {
            "market_ticker": "T",
            "market_id": "m",
            "price_dollars": "0.5200",
            "delta_fp": "1.00",
            "side": "yes",
            "ts": "2026-06-11T06:29:47.354803Z",
        },
    }
    assert _parse(delta).ts_ms == 1781159387354
    trade = {
        "type": "trade",
        "sid": 2,
        "msg": {
            "trade_id": "t1",
            "market_ticker": "T",
            "yes_price_dollars": "0.3600",
            "no_price_dollars": "0.6400",
            "count_fp": "136.00",
            "taker_outcome_side": "no",
            "taker_book_side": "ask",
            "ts": 1669149841,
        },
    }
    parsed = _parse(trade)
    assert type(parsed) is Trade and parsed.ts_ms == 1669149841000
    assert (parsed.yes_price, parsed.no_price, parsed.count) == (
        Decimal("0.3600"),
        Decimal("0.6400"),
        Decimal("136.00"),
    )
    assert (parsed.taker_outcome_side, parsed.taker_book_side, parsed.is_block_trade) == ("no", "ask", None)


def test_other_channels_are_typed_and_exact():
    ticker = _parse(
        '{"type":"ticker","sid":11,"msg":{"market_ticker":"FED","market_id":"m","price_dollars":"0.480",'
        '"yes_bid_dollars":"0.450","yes_ask_dollars":"0.530","volume_fp":"33896.00","open_interest_fp":"20422.00",'
        '"dollar_volume":16948,"dollar_open_interest":10211,"yes_bid_size_fp":"300.00","yes_ask_size_fp":"150.00",'
        '"last_trade_size_fp":"25.00","ts":1669149841,"ts_ms":1669149841000,"time":"2022-11-22T20:44:01Z"}}'
    )
    assert (
        type(ticker) is Ticker and ticker.yes_bid == Decimal("0.450") and ticker.yes_ask == Decimal("0.530")
    )
    assert ticker.volume == Decimal("33896.00") and ticker.data["dollar_volume"] == 16948
    life = _parse(
        '{"type":"market_lifecycle_v2","sid":13,"msg":{"market_ticker":"INXD","event_type":"metadata_updated",'
        '"floor_strike":4487.5}}'
    )
    assert type(life) is MarketLifecycle and life.event_type == "metadata_updated"
    assert life.data["floor_strike"] == Decimal("4487.5")  # a JSON number, decoded without float
    fee = _parse(
        '{"type":"event_fee_update","sid":5,"msg":{"event_ticker":"KXBTCD","fee_type_override":"quadratic",'
        '"fee_multiplier_override":1.25}}'
    )
    assert type(fee) is EventFeeUpdate and fee.fee_multiplier_override == Decimal("1.25")
    fill = _parse(
        '{"type":"fill","sid":13,"msg":{"trade_id":"t","order_id":"o","market_ticker":"H","is_taker":true,'
        '"yes_price_dollars":"0.750","count_fp":"278.00","fee_cost":"0.1300","ts_ms":1671899397000,'
        '"post_position_fp":"500.00"}}'
    )
    assert type(fill) is Fill and fill.fee_cost == Decimal("0.1300") and fill.count == Decimal("278.00")
    assert fill.data["post_position_fp"] == Decimal("500.00") and fill.market_ticker == "H"
    order = _parse(
        '{"type":"user_order","sid":22,"msg":{"order_id":"o","ticker":"FED","status":"resting",'
        '"yes_price_dollars":"0.3500","remaining_count_fp":"10.00","client_order_id":"c1"}}'
    )
    assert type(order) is UserOrder and order.market_ticker == "FED" and order.client_order_id == "c1"
    assert order.data["yes_price_dollars"] == Decimal("0.3500")
    pos = _parse(
        '{"type":"market_position","sid":14,"msg":{"market_ticker":"FED","position_fp":"100.00",'
        '"position_cost_dollars":"50.0000","realized_pnl_dollars":"-10.0000","fees_paid_dollars":"1.0000"}}'
    )
    assert type(pos) is MarketPosition and pos.realized_pnl == Decimal("-10.0000")


def test_unknown_and_malformed_frames_are_kept():
    unknown = _parse('{"type":"cfbenchmarks_value","sid":9,"msg":{"index_id":"BRTI","value":"97000.12"}}')
    assert type(unknown) is Message and unknown.type == "cfbenchmarks_value"
    assert unknown.data == {"index_id": "BRTI", "value": "97000.12"} and unknown.parse_error is None
    bad = _parse(
        '{"type":"orderbook_delta","sid":1,"seq":4,"msg":{"market_ticker":"T","price_dollars":"abc",'
        '"delta_fp":"1.00","side":"yes"}}'
    )
    assert type(bad) is Message and bad.parse_error and bad.seq == 4 and bad.data["price_dollars"] == "abc"
    missing = _parse('{"type":"trade","sid":2,"msg":{"market_ticker":"T"}}')
    assert type(missing) is Message and "trade_id" in missing.parse_error


def test_order_group_updates_and_own_deltas_are_typed():
    """The AsyncAPI's order_group_updates example (limit_updated; it omits the required ts_ms) and a delta caused
    by one's own order in a numbered subaccount (the schema's optional client_order_id and subaccount)."""
    og = _parse(
        '{"type":"order_group_updates","sid":21,"seq":7,"msg":{"event_type":"limit_updated",'
        '"order_group_id":"og_123","contracts_limit_fp":"150.00"}}'
    )
    assert type(og) is OrderGroupUpdate and og.seq == 7 and og.ts_ms is None
    assert (og.order_group_id, og.event_type, og.contracts_limit) == (
        "og_123",
        "limit_updated",
        Decimal("150"),
    )
    trig = _parse(
        '{"type":"order_group_updates","sid":21,"seq":8,"msg":{"event_type":"triggered",'
        '"order_group_id":"og_123","ts_ms":1781159387354}}'
    )
    assert type(trig) is OrderGroupUpdate and trig.contracts_limit is None and trig.ts_ms == 1781159387354
    delta = _parse(
        '{"type":"orderbook_delta","sid":1,"seq":3,"msg":{"market_ticker":"K","market_id":"m",'
        '"price_dollars":"0.5200","delta_fp":"2.00","side":"no","client_order_id":"c-1","subaccount":3,'
        '"ts_ms":1781159387427}}'
    )
    assert type(delta) is OrderbookDelta and (delta.client_order_id, delta.subaccount) == ("c-1", 3)
    assert "order_group_updates" in CHANNELS and "order_group_updates" in PRIVATE_CHANNELS
