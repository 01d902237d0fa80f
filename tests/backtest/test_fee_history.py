"""Time-correct fees: a fill pays the fee terms in force at its own time, from the landed series and event fee
changes; where no change covers a time, the current terms stand in and the fill says so. Fees computed by hand,
rounded up to $0.0001 per fill as Kalshi does."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kalshi_lake.backtest import BacktestError, run_backtest
from kalshi_lake.backtest.fees import FeeSchedule, FeeTerms, timed_schedule
from tests.backtest.lakegen import LOADED, trade, write_stream
from tests.backtest.test_fill_model import OnNth, at, make_lake

TS = pa.timestamp("us", tz="UTC")
D6 = pa.decimal128(18, 6)
US = 1_000_000


def _us(dt) -> int:
    return int(dt.timestamp()) * US + dt.microsecond


def write_changes(root: Path, stream: str, rows: list[dict]) -> None:
    """Rows of series_fee_changes / event_fee_changes as the lake holds them (decimal multipliers, timestamps)."""
    if stream == "series_fee_changes":
        fields = [("id", pa.string()), ("series_ticker", pa.string()), ("fee_type", pa.string())]
        fields += [("fee_multiplier", D6)]
    else:
        fields = [("id", pa.string()), ("event_ticker", pa.string()), ("series_ticker", pa.string())]
        fields += [("fee_type_override", pa.string()), ("fee_multiplier_override", D6)]
    fields += [("scheduled_ts", TS), ("_loaded_at", TS), ("_run_id", pa.string())]
    schema = pa.schema(fields)
    rows = [{"_loaded_at": LOADED, "_run_id": "r", **r} for r in rows]
    cols = {f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}
    d = root / stream / "date=2026-11-03"
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(cols, schema=schema), d / "part-r-0.parquet")


# 3 contracts at $0.37, taker: 0.07 x m x 3 x 0.37 x 0.63 = 0.048951 x m, rounded UP to $0.0001
FEE_X1 = 4_900_000  # 0.048951 -> $0.0490 (money units of 1e-8 $)
FEE_X05 = 2_450_000  # 0.0244755 -> $0.0245
FEE_X2 = 9_800_000  # 0.097902 -> $0.0980


def _series_row(mult: str, loaded) -> dict:
    return {"ticker": "S", "fee_type": "quadratic", "fee_multiplier": D(mult), "_loaded_at": loaded}


def _lake(tmp_path: Path) -> Path:
    trades = [trade("S-E-M", at(m), "0.37", 3, "bid") for m in (1, 5, 15, 25, 35)]
    lake = make_lake(tmp_path, trades, mult="2")  # the series row landed before any change: quadratic x 2
    # its latest row, landed after every change: the current terms, quadratic x 0.5
    write_stream(lake, "series", [_series_row("0.5", at(40))], run_id="later")
    write_changes(
        lake,
        "series_fee_changes",
        [
            {
                "id": "c1",
                "series_ticker": "S",
                "fee_type": "quadratic",
                "fee_multiplier": D(1),
                "scheduled_ts": at(2),
            },
            {
                "id": "c2",
                "series_ticker": "S",
                "fee_type": "quadratic",
                "fee_multiplier": D("0.5"),
                "scheduled_ts": at(10),
            },
            {
                "id": "x",
                "series_ticker": "OTHER",
                "fee_type": "quadratic",
                "fee_multiplier": D(9),
                "scheduled_ts": at(0),
            },
        ],
    )
    write_changes(
        lake,
        "event_fee_changes",
        [  # an override of the multiplier only (the series' type stays), then cleared
            {
                "id": "e1",
                "event_ticker": "S-E",
                "series_ticker": "S",
                "fee_multiplier_override": D(2),
                "scheduled_ts": at(20),
            },
            {"id": "e2", "event_ticker": "S-E", "series_ticker": "S", "scheduled_ts": at(30)},
        ],
    )
    return lake


PLAN5 = {n: [("buy", 3, "0.37", "yes", "ioc")] for n in range(1, 6)}


def test_a_fee_change_mid_backtest_changes_the_fees_of_later_fills_only(tmp_path):
    r = run_backtest(OnNth(PLAN5), _lake(tmp_path))
    got = [(f.ts, f.fee, f.fee_terms) for f in r.state.fills]
    assert got == [
        (_us(at(1)), FEE_X2, "history"),  # before the first change: the terms a row landed then showed (x2)
        (_us(at(5)), FEE_X1, "history"),  # c1: x1
        (_us(at(15)), FEE_X05, "history"),  # c2: x0.5
        (_us(at(25)), FEE_X2, "history"),  # the event's override: x2
        (_us(at(35)), FEE_X05, "history"),  # override cleared: the series' x0.5 again
    ]
    assert r.metrics.fees_paid == D("0.0980") + D("0.0490") + D("0.0245") + D("0.0980") + D("0.0245")
    assert r.fills_table().column("fee_terms").to_pylist() == ["history"] * 5


def test_before_the_first_change_with_nothing_observed_the_current_terms_stand_in_and_say_so(tmp_path):
    trades = [trade("S-E-M", at(m), "0.37", 3, "bid") for m in (1, 5)]
    lake = make_lake(tmp_path, trades, mult="0.5")
    # the only series row landed after the change: the terms before it were never observed
    (lake / "series").rename(tmp_path / "old_series")
    write_stream(lake, "series", [_series_row("0.5", at(40))])
    row = {
        "id": "c1",
        "series_ticker": "S",
        "fee_type": "quadratic",
        "fee_multiplier": D(1),
        "scheduled_ts": at(2),
    }
    write_changes(lake, "series_fee_changes", [row])
    write_changes(lake, "event_fee_changes", [])  # landed: the event has no override history
    r = run_backtest(OnNth(PLAN5), lake)
    assert [(f.fee, f.fee_terms) for f in r.state.fills] == [
        (FEE_X05, "current_assumed"),
        (FEE_X1, "no_change_listed"),  # the weaker part: the series' change, the event's none listed
    ]


def test_a_series_without_listed_changes_keeps_its_current_terms(tmp_path):
    trades = [trade("S-E-M", at(m), "0.37", 3, "bid") for m in (1, 5)]
    lake = make_lake(tmp_path, trades, mult="0.5")
    row = {
        "id": "x",
        "series_ticker": "OTHER",
        "fee_type": "quadratic",
        "fee_multiplier": D(9),
        "scheduled_ts": at(0),
    }
    write_changes(lake, "series_fee_changes", [row])
    write_changes(lake, "event_fee_changes", [])
    r = run_backtest(OnNth(PLAN5), lake)
    assert [(f.fee, f.fee_terms) for f in r.state.fills] == [(FEE_X05, "no_change_listed")] * 2


def test_without_fee_history_every_fill_pays_the_current_terms_and_says_so(tmp_path):
    trades = [trade("S-E-M", at(m), "0.37", 3, "bid") for m in (1, 5)]
    r = run_backtest(OnNth(PLAN5), make_lake(tmp_path, trades, mult="0.5"))
    assert [(f.fee, f.fee_terms) for f in r.state.fills] == [(FEE_X05, "current_assumed")] * 2


def test_a_series_change_without_terms_is_a_clear_error(tmp_path):
    lake = make_lake(tmp_path, [trade("S-E-M", at(1), "0.37", 3, "bid")])
    write_changes(lake, "series_fee_changes", [{"id": "bad", "series_ticker": "S", "scheduled_ts": at(0)}])
    with pytest.raises(BacktestError, match="bad lacks"):
        run_backtest(OnNth({}), lake)


def test_timed_schedule_layers_the_event_override_on_the_series_terms():
    t = [1_000, 2_000, 3_000, 4_000]
    s = timed_schedule(
        ("quadratic_with_maker_fees", D("0.5")),  # current series terms
        (None, None),  # no override now
        None,
        [(t[0], "quadratic", D(1))],
        [(t[1], "flat", None), (t[2], "quadratic", D(3)), (t[3], None, None)],
    )
    assert s.terms_at(t[0] - 1) == FeeTerms(-1, "quadratic_with_maker_fees", D("0.5"), "current_assumed")
    assert s.terms_at(t[0]) == FeeTerms(
        t[0], "quadratic", D(1), "current_assumed"
    )  # no override observed yet
    assert s.terms_at(t[1]) == FeeTerms(
        t[1], "flat", D(1), "history"
    )  # type overridden, multiplier the series'
    assert s.terms_at(t[2] + 5) == FeeTerms(t[2], "quadratic", D(3), "history")
    assert s.terms_at(t[3]) == FeeTerms(t[3], "quadratic", D(1), "history")  # cleared: the series' terms
    # maker fees exist only under quadratic_with_maker_fees: 0.0175 x 0.5 x 10 x .25 = 0.021875 -> 0.0219
    assert s.fee_units(1_000, 500_000, False, t[0] - 1) == 2_190_000
    assert s.fee_units(1_000, 500_000, False, t[0]) == 0
    # a stress scale multiplies every period's multiplier: x2 of 0.07 x 3 x 10 x .25 = 0.525 -> 1.05
    assert s.scaled(D(2)).fee_units(1_000, 500_000, True, t[2]) == 105_000_000


def test_event_changes_alone_count_as_history_only_when_the_override_is_whole():
    s = timed_schedule(
        ("quadratic", D(1)),
        (None, D("0.25")),
        None,
        [],
        [(10, "quadratic", D(0)), (20, None, D(2))],
        series_listed=True,
        event_before=(None, None),  # an events row landed before the first change showed no override
    )
    assert s.terms_at(5) == FeeTerms(-1, "quadratic", D(1), "no_change_listed")
    assert s.terms_at(10) == FeeTerms(10, "quadratic", D(0), "history")  # whole: the series does not matter
    assert s.terms_at(20) == FeeTerms(20, "quadratic", D(2), "no_change_listed")  # x2 on the series' type
    with pytest.raises(ValueError, match="sorted"):
        FeeSchedule("quadratic", D(1), None, (FeeTerms(2, "quadratic", D(1)), FeeTerms(1, "quadratic", D(1))))
    with pytest.raises(ValueError, match="source"):
        FeeSchedule("quadratic", D(1), None, (), "guessed")


def test_a_recorded_event_fee_update_counts_from_when_it_was_received(tmp_path):
    trades = [trade("S-E-M", at(m), "0.37", 3, "bid") for m in (5, 15)]
    lake = make_lake(tmp_path, trades, mult="0.5")
    row = {
        "id": "c1",
        "series_ticker": "S",
        "fee_type": "quadratic",
        "fee_multiplier": D(1),
        "scheduled_ts": at(0),
    }
    write_changes(lake, "series_fee_changes", [row])
    schema = pa.schema(
        [
            ("type", pa.string()),
            ("event_ticker", pa.string()),
            ("fee_type_override", pa.string()),
            ("fee_multiplier_override", D6),
            ("ts", TS),
            ("received_at", TS),
        ]
    )
    msg = ["event_fee_update", "S-E", "quadratic", D(2), None, at(10)]
    other = ["event_lifecycle", "S-E", None, None, None, at(1)]
    cols = {f.name: pa.array([msg[i], other[i]], f.type) for i, f in enumerate(schema)}
    d = lake / "ws_lifecycle" / "date=2026-11-03"
    d.mkdir(parents=True)
    pq.write_table(pa.table(cols, schema=schema), d / "part-r-0.parquet")
    plan = {n: [("buy", 3, "0.37", "yes", "ioc")] for n in (1, 2)}
    r = run_backtest(OnNth(plan), lake)
    assert [(f.fee, f.fee_terms) for f in r.state.fills] == [(FEE_X1, "history"), (FEE_X2, "history")]
