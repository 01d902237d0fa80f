"""The order journal's partition day is the exchange's; its ``ts`` stays this machine's clock (the phases' order)."""

from __future__ import annotations

import datetime as dt

from kalshi_extract.lake.store import Lake
from kalshi_extract.orders.journal import LakeJournal, OrderEvent


def _days(lake: Lake) -> set[str]:
    return {f.rsplit("/", 2)[-2].split("=", 1)[1] for f in lake.files("order_events")}


def test_journal_partition_day_is_the_exchanges_and_ts_keeps_the_order(tmp_path):
    ahead = dt.timedelta(days=400)
    lake = Lake(str(tmp_path / "lake"))
    journal = LakeJournal(lake, clock=lambda: dt.datetime.now(dt.UTC) + ahead)
    a = OrderEvent("place", "intent", "c1")
    b = OrderEvent("place", "sent", "c1", ts=a.ts + dt.timedelta(milliseconds=250))
    journal.write([a])
    journal.write([b])
    assert _days(lake) == {(dt.datetime.now(dt.UTC) + ahead).date().isoformat()}
    rows = sorted(lake.read("order_events").to_pylist(), key=lambda r: r["ts"])
    assert [r["phase"] for r in rows] == ["intent", "sent"] and rows[0]["ts"] == a.ts


def test_journal_without_an_exchange_time_is_dated_by_ts(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    event = OrderEvent("place", "intent", "c1", ts=dt.datetime(2030, 5, 6, 7, tzinfo=dt.UTC))
    LakeJournal(lake, clock=lambda: None).write([event])
    assert _days(lake) == {"2030-05-06"}
