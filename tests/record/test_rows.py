"""Recorded frames land exactly: the genuine demo frames (every value), unknown types and fields, odd values."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from kalshi_extract.ingest.recorder import Recorder
from kalshi_extract.ingest.recorder_plan import plan_record
from kalshi_extract.lake.schemas import STREAM_COLUMNS
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from kalshi_extract.ws import Gap, decode_frame, parse_message
from tests.shared_paths import REAL_DATA

FRAMES = REAL_DATA / "fortuna_demo" / "ws__orderbook_trade_yes.jsonl"
AT = datetime(2026, 6, 11, 6, 29, 50, 123456, tzinfo=UTC)


def _recorder(tmp_path) -> Recorder:
    settings = Settings(env="local", api_url="http://127.0.0.1:9/trade-api/v2", lake_dir=str(tmp_path))
    plan = plan_record(settings, tickers="X")
    return Recorder(settings, plan, run_id="run1")


def _land(rec: Recorder, frames: list[dict]) -> Lake:
    for f in frames:
        rec.handle(parse_message(f, received_at=AT, connection_id=1))
    rec._cut()
    rec._write_pending()
    assert not rec._pending
    return rec.lake


def _rows(lake: Lake, stream: str) -> list[dict]:
    if not lake.files(stream):
        return []
    return lake.read(stream).to_pylist()


def test_the_genuine_frames_land_exactly(tmp_path):
    frames = [decode_frame(line) for line in FRAMES.read_text().splitlines() if line.strip()]
    channel = [f for f in frames if f["type"] not in ("subscribed",)]
    lake = _land(_recorder(tmp_path), channel)
    book = _rows(lake, "ws_book")
    snap, d1, d2 = (f for f in channel)
    # the snapshot: one row per level, every value as sent
    levels = sorted(
        (r["side"], r["price_dollars"], r["quantity_fp"]) for r in book if r["kind"] == "snapshot"
    )
    sent = sorted(
        (side, Decimal(p), Decimal(q)) for side in ("yes", "no") for p, q in snap["msg"][f"{side}_dollars_fp"]
    )
    assert levels == sent
    for r in book:
        assert r["ticker"] == snap["msg"]["market_ticker"]
        assert r["market_id"] == snap["msg"]["market_id"]
        assert r["sid"] == 1
        assert r["connection_id"] == "run1-c1"
        assert r["received_at"] == AT
        assert r["_extra"] is None  # every field has its column
        assert r["_run_id"] == "run1"
    deltas = sorted((r for r in book if r["kind"] == "delta"), key=lambda r: r["seq"])
    assert [r["seq"] for r in deltas] == [d1["seq"], d2["seq"]]
    for row, frame in zip(deltas, (d1, d2), strict=True):
        m = frame["msg"]
        assert row["side"] == m["side"]
        assert row["price_dollars"] == Decimal(m["price_dollars"])
        assert row["quantity_fp"] == Decimal(m["delta_fp"])
        # ts: the microsecond time of `ts`; `ts_ms` is the same instant cut to milliseconds
        assert row["ts"] == datetime.fromisoformat(m["ts"].replace("Z", "+00:00"))
        assert (row["ts"] - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) == m["ts_ms"]
    assert {r["seq"] for r in book if r["kind"] == "snapshot"} == {snap["seq"]}
    cov = _rows(lake, "ws_coverage")
    assert [(r["event"], r["ticker"]) for r in cov if r["event"] == "whole"] == [
        ("whole", snap["msg"]["market_ticker"])
    ]
    assert [r["event"] for r in cov][-1] == "alive"


def test_unknown_types_fields_and_unfit_values_are_kept(tmp_path):
    frames = [
        # a field the schema does not know, a value too precise for its column
        {
            "type": "orderbook_delta",
            "sid": 3,
            "seq": 7,
            "extra_top": 1,
            "msg": {
                "market_ticker": "M",
                "side": "yes",
                "price_dollars": "0.1234567",
                "delta_fp": "5.00",
                "new_field": {"a": 1},
                "ts_ms": 1781159387354,
            },
        },
        # a type nobody knows
        {"type": "brand_new", "sid": 4, "msg": {"market_ticker": "M", "x": "y"}},
        # a body that is not an object
        {"type": "weird", "sid": 5, "msg": [1, 2]},
        # an empty book
        {"type": "orderbook_snapshot", "sid": 3, "seq": 1, "msg": {"market_ticker": "E", "market_id": "u"}},
        {
            "type": "trade",
            "sid": 6,
            "msg": {
                "trade_id": "t1",
                "market_ticker": "M",
                "yes_price_dollars": "0.3600",
                "no_price_dollars": "0.6400",
                "count_fp": "2.00",
                "taker_side": "yes",
                "ts": 1781159387,
                "ts_ms": 1781159387001,
            },
        },
    ]
    lake = _land(_recorder(tmp_path), frames)
    book = {(r["ticker"], r["kind"]): r for r in _rows(lake, "ws_book")}
    d = book[("M", "delta")]
    assert d["price_dollars"] is None  # did not fit decimal(18,6): null, the original kept
    extra = json.loads(d["_extra"])
    assert extra["price_dollars"] == "0.1234567"
    assert extra["new_field"] == {"a": 1}
    assert extra["frame.extra_top"] == 1
    assert d["quantity_fp"] == Decimal("5.00") and d["seq"] == 7
    empty = book[("E", "snapshot")]
    assert (empty["side"], empty["price_dollars"], empty["quantity_fp"]) == (None, None, None)
    life = {r["type"]: r for r in _rows(lake, "ws_lifecycle")}
    assert json.loads(life["brand_new"]["msg"]) == {"market_ticker": "M", "x": "y"}
    assert life["brand_new"]["ticker"] == "M" and life["brand_new"]["sid"] == 4
    assert json.loads(life["weird"]["_extra"])["frame"]["msg"] == [1, 2]
    [trade] = _rows(lake, "ws_trades")
    assert trade["yes_price_dollars"] == Decimal("0.36") and trade["count_fp"] == Decimal("2")
    assert trade["created_time"] == datetime(2026, 6, 11, 6, 29, 47, 1000, tzinfo=UTC)
    assert trade["_extra"] is None


def test_gap_events_become_coverage_rows(tmp_path):
    rec = _recorder(tmp_path)
    rec.handle(Gap(9, "orderbook_delta", ("A", "B"), 5, 7, "seq_gap", AT, 2, "get_snapshot"))
    lake = _land(rec, [])
    gaps = [r for r in _rows(lake, "ws_coverage") if r["event"] == "gap"]
    assert sorted(r["ticker"] for r in gaps) == ["A", "B"]
    for r in gaps:
        assert (r["expected_seq"], r["got_seq"], r["sid"]) == (5, 7, 9)
        assert r["reason"].startswith("seq_gap") and r["connection_id"] == "run1-c2"


def test_a_failed_append_that_committed_is_not_written_twice(tmp_path, monkeypatch):
    rec = _recorder(tmp_path)
    rec.handle(
        parse_message(
            {"type": "trade", "sid": 1, "msg": {"trade_id": "t9", "market_ticker": "M"}},
            received_at=AT,
            connection_id=1,
        )
    )
    real = Lake.append
    calls = []

    def append_then_fail(self, stream, *a, **kw):
        out = real(self, stream, *a, **kw)
        calls.append(stream)
        if stream == "ws_trades" and calls.count("ws_trades") == 1:
            raise OSError("the disk said no after committing")
        return out

    monkeypatch.setattr(Lake, "append", append_then_fail)
    rec._cut()
    rec._write_pending()
    assert rec.status.lake_errors == 1 and rec._pending  # kept for a retry; coverage (alive) not yet written
    assert _rows(rec.lake, "ws_coverage") == []
    rec._cut()
    rec._write_pending()
    assert not rec._pending
    assert [r["trade_id"] for r in _rows(rec.lake, "ws_trades")] == ["t9"]
    assert [r["event"] for r in _rows(rec.lake, "ws_coverage")] == ["alive", "alive"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "say what to record"),
        ({"tickers": "A", "channels": "orderbook"}, "unknown channel 'orderbook'"),
        ({"tickers": "A", "channels": "fill"}, "is private"),
        ({"tickers": "A", "duration": "2 weeks"}, "is not a duration"),
        ({"tickers": "A", "duration": "0s"}, "longer than zero"),
        ({"tickers": "A/../B"}, "is not a Kalshi ticker"),
    ],
)
def test_bad_input_is_refused_before_anything(kwargs, message):
    from kalshi_extract.errors import ConfigError

    settings = Settings(env="local", api_url="http://127.0.0.1:9/trade-api/v2")
    with pytest.raises(ConfigError, match=message):
        plan_record(settings, **kwargs)


def test_durations_and_default_channels():
    from kalshi_extract.ingest.recorder_plan import parse_duration

    assert parse_duration("2h") == 7200 and parse_duration("1h30m") == 5400 and parse_duration("90") == 90
    settings = Settings(env="local", api_url="http://127.0.0.1:9/trade-api/v2")
    plan = plan_record(settings, series="kxbtc", channels="orderbook_delta")
    assert plan.series == ("KXBTC",)
    assert plan.channels == ("orderbook_delta", "market_lifecycle_v2")  # discovery needs the lifecycle


def test_too_many_rows_waiting_pauses_until_the_lake_takes_them(tmp_path, monkeypatch):
    import asyncio

    rec = _recorder(tmp_path)
    rec.max_buffer_rows = 10
    for i in range(30):
        rec.handle(
            parse_message(
                {"type": "trade", "sid": 1, "msg": {"trade_id": f"t{i}", "market_ticker": "M"}},
                received_at=AT,
                connection_id=1,
            )
        )
    real, failures = Lake.append, []

    def flaky(self, stream, *a, **kw):
        if len(failures) < 2:
            failures.append(stream)
            raise OSError("disk full")
        return real(self, stream, *a, **kw)

    monkeypatch.setattr(Lake, "append", flaky)
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    asyncio.run(rec._relieve())
    assert rec.status.lake_behind == 1 and rec.status.lake_errors == 2
    assert rec.rows_waiting == 0
    assert sorted(r["trade_id"] for r in _rows(rec.lake, "ws_trades")) == sorted(f"t{i}" for i in range(30))


async def _no_sleep(seconds):
    return None


def test_event_fee_update_lands_with_its_override_typed(tmp_path):
    """The AsyncAPI's two examples (override set, override cleared) land in ws_lifecycle, the multiplier exact."""
    frames = [
        {
            "type": "event_fee_update",
            "sid": 5,
            "msg": {
                "event_ticker": "KXBTCD-26MAY2018",
                "fee_type_override": "quadratic",
                "fee_multiplier_override": 1,
            },
        },
        {
            "type": "event_fee_update",
            "sid": 5,
            "msg": {
                "event_ticker": "KXBTCD-26MAY2018",
                "fee_type_override": None,
                "fee_multiplier_override": None,
            },
        },
    ]
    rows = _rows(_land(_recorder(tmp_path), frames), "ws_lifecycle")
    got = sorted(
        ((r["type"], r["event_ticker"], r["fee_type_override"], r["fee_multiplier_override"]) for r in rows),
        key=lambda r: r[2] is None,
    )
    assert got == [
        ("event_fee_update", "KXBTCD-26MAY2018", "quadratic", Decimal("1")),
        ("event_fee_update", "KXBTCD-26MAY2018", None, None),
    ]
    assert all(
        r["received_at"] == AT and r["ts"] is None for r in rows
    )  # the message carries no exchange time


def test_order_group_updates_and_own_deltas_map_to_their_columns():
    """order_group_updates → ws_order_groups (seq kept, the limit typed by the lake); a delta's client_order_id and
    subaccount → ws_book's columns, nothing left in _extra."""
    from kalshi_extract.ingest.recorder_rows import message_rows

    og = parse_message(
        {
            "type": "order_group_updates",
            "sid": 21,
            "seq": 7,
            "msg": {
                "event_type": "created",
                "order_group_id": "og_1",
                "contracts_limit_fp": "150.00",
                "ts_ms": 5,
            },
        },
        received_at=AT,
    )
    stream, rows = message_rows(og, "c1")
    assert stream == "ws_order_groups"
    assert rows == [
        {
            "event_type": "created",
            "order_group_id": "og_1",
            "contracts_limit_fp": "150.00",
            "ts": "1970-01-01T00:00:00.005000Z",
            "seq": 7,
            "sid": 21,
            "received_at": "2026-06-11T06:29:50.123456Z",
            "connection_id": "c1",
        }
    ]
    bad_seq = parse_message({**og.raw, "seq": "x"}, received_at=AT)
    assert message_rows(bad_seq, "c1")[1][0]["frame.seq"] == "x"  # kept, not dropped
    delta = parse_message(
        {
            "type": "orderbook_delta",
            "sid": 1,
            "seq": 3,
            "msg": {
                "market_ticker": "K",
                "market_id": "m",
                "price_dollars": "0.5200",
                "delta_fp": "2.00",
                "side": "no",
                "client_order_id": "c-1",
                "subaccount": 3,
                "ts_ms": 1781159387427,
            },
        },
        received_at=AT,
    )
    stream, rows = message_rows(delta, "c1")
    assert stream == "ws_book" and (rows[0]["client_order_id"], rows[0]["subaccount"]) == ("c-1", 3)
    assert set(rows[0]) <= {c.name for c in STREAM_COLUMNS["ws_book"]}
