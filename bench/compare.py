"""Check that two contenders landed exactly the same trades: same ``trade_id`` set, same values.

Each output is read with pyarrow and normalised to the lake's types (``count_fp`` decimal128(18,2), prices
decimal128(18,6), ``created_time`` timestamp[us, UTC], strings, bool) so that a string "0.5600" from pandas and a
decimal 0.560000 from kalshi-lake compare equal, and a real difference (a lost digit, a shifted timestamp, a missing
or duplicated trade) does not. Runs in the harness process after the measured children have exited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

TRADE_TYPES: dict[str, pa.DataType] = {
    "trade_id": pa.string(),
    "ticker": pa.string(),
    "count_fp": pa.decimal128(18, 2),
    "yes_price_dollars": pa.decimal128(18, 6),
    "no_price_dollars": pa.decimal128(18, 6),
    "taker_outcome_side": pa.string(),
    "taker_book_side": pa.string(),
    "created_time": pa.timestamp("us", tz="UTC"),
    "is_block_trade": pa.bool_(),
}


def load_trades(path: str | Path) -> pa.Table:
    """Read every Parquet file under ``path`` (file or directory) and normalise the trade columns."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*.parquet") if p.is_file())
    if not files:
        return pa.table({k: pa.array([], type=t) for k, t in TRADE_TYPES.items()})
    dataset = ds.dataset([str(f) for f in files], format="parquet", partitioning=None)
    present = set(dataset.schema.names)
    missing = [c for c in TRADE_TYPES if c not in present]
    if missing:
        raise ValueError(f"{path}: trade columns missing from the output: {missing}")
    table = dataset.to_table(columns=list(TRADE_TYPES))
    cols = []
    for name, typ in TRADE_TYPES.items():
        col = table.column(name)
        if pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        if col.type != typ:
            col = pc.cast(col, typ)
        cols.append(col)
    return pa.Table.from_arrays(cols, names=list(TRADE_TYPES))


def compare(reference: pa.Table, other: pa.Table) -> dict[str, Any]:
    """Compare two normalised trade tables; ``same`` is True only for identical row sets and values."""
    ref = reference.sort_by("trade_id")
    oth = other.sort_by("trade_id")
    ref_ids, oth_ids = ref.column("trade_id"), oth.column("trade_id")
    dup_ref = ref.num_rows - pc.count_distinct(ref_ids).as_py()
    dup_oth = oth.num_rows - pc.count_distinct(oth_ids).as_py()
    missing = pc.sum(pc.invert(pc.is_in(ref_ids, value_set=oth_ids))).as_py() or 0
    extra = pc.sum(pc.invert(pc.is_in(oth_ids, value_set=ref_ids))).as_py() or 0
    mismatched = None
    if ref.num_rows == oth.num_rows and ref_ids.equals(oth_ids):
        any_diff = None
        for name in TRADE_TYPES:
            diff = pc.fill_null(pc.not_equal(ref.column(name), oth.column(name)), True)
            both_null = pc.and_(pc.is_null(ref.column(name)), pc.is_null(oth.column(name)))
            diff = pc.and_(diff, pc.invert(both_null))
            any_diff = diff if any_diff is None else pc.or_(any_diff, diff)
        mismatched = pc.sum(any_diff).as_py() or 0 if any_diff is not None else 0
    same = (
        missing == 0
        and extra == 0
        and dup_ref == 0
        and dup_oth == 0
        and mismatched == 0
        and ref.num_rows == oth.num_rows
    )
    return {
        "same": same,
        "rows_reference": ref.num_rows,
        "rows": oth.num_rows,
        "missing": missing,
        "extra": extra,
        "duplicates_reference": dup_ref,
        "duplicates": dup_oth,
        "mismatched_values": mismatched,
    }
