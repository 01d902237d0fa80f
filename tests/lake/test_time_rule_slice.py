"""The time rule's per-page slice helpers: a page lying inside its slice needs no mask; one straddling a bound is
masked to ``[a, b)`` with rows without a time kept (they land with the time null and are reported)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from kalshi_extract.ingest.time_rule import _in_slice, _micros_bounds
from kalshi_extract.lake.schemas import TS
from kalshi_extract.lake.state import to_micros

A = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
B = datetime(2026, 6, 15, 13, 0, tzinfo=UTC)


def _ts(*values):
    return pa.array([None if v is None else to_micros(v) for v in values], pa.int64()).cast(TS)


def test_bounds_of_non_null_values_and_of_an_all_null_page():
    t = _ts(None, B, A, None)
    assert _micros_bounds(t) == (to_micros(A), to_micros(B))
    assert _micros_bounds(_ts(None, None)) == (None, None)
    assert _micros_bounds(_ts()) == (None, None)


def test_slice_keeps_a_drops_b_and_keeps_rows_without_time():
    before = datetime(2026, 6, 15, 11, 59, 59, 999999, tzinfo=UTC)
    last = datetime(2026, 6, 15, 12, 59, 59, 999999, tzinfo=UTC)
    t = _ts(before, A, None, last, B)
    assert _in_slice(t, A, B).to_pylist() == [False, True, True, True, False]
    assert _in_slice(t, None, B).to_pylist() == [True, True, True, True, False]
    assert _in_slice(t, A, None).to_pylist() == [False, True, True, True, True]
    # the window's top after masking is the last time inside the slice, not b
    assert _micros_bounds(t.filter(_in_slice(t, A, B))) == (to_micros(A), to_micros(last))


def test_no_null_in_the_mask_of_a_page_without_nulls():
    t = _ts(A, B)
    assert _in_slice(t, A, B).null_count == 0
