"""What the lake must hold for a genuine API value, computed in plain Python (no Arrow, no project code).

``expected(kind, value)`` gives the typed value of a column kind (the kinds of ``kalshi_extract.lake.schemas``);
``expected_row(columns, item)`` applies the documented drift rules (legacy integer cents / counts fill the
``*_dollars`` / ``*_fp`` columns when the newer field is absent; an integer-cents column is filled from its
``*_dollars`` twin; when both names are columns, e.g. ``balance`` and ``balance_dollars``, each holds what was sent); ``check_rows`` compares every field of every source item with the lake, typed column or
``_extra``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

_RFC3339 = re.compile(
    r"^(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):(\d\d))$"
)


def parse_time(value) -> datetime | None:
    """RFC3339 text (any fraction length, truncated to µs; Z or ±hh:mm) or Unix seconds → aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=value)
    m = _RFC3339.match(value)
    if m is None:
        raise AssertionError(f"test data: {value!r} is not RFC3339")
    y, mo, d, h, mi, s, frac, z, sign, oh, om = m.groups()
    micro = int((frac or "")[:6].ljust(6, "0"))
    out = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=UTC)
    if not z:
        delta = timedelta(hours=int(oh), minutes=int(om))
        out = out - delta if sign == "+" else out + delta
    return out


def is_time_text(value) -> bool:
    return isinstance(value, str) and _RFC3339.match(value) is not None


def expected(kind: str, value):
    if value is None:
        return None
    if kind in ("usd", "fp", "num", "strike"):
        assert not isinstance(value, (float, bool)), f"test data: {value!r} should be text or Decimal"
        return Decimal(str(value))
    if kind == "ts":
        return parse_time(value)
    if kind == "json":
        return value
    if kind == "str" and not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if kind in ("cents", "int", "int32"):
        assert isinstance(value, int) and not isinstance(value, bool), value
        return value
    return value


# the spec's own "legacy field name, same as X" pairs: Fill.trade_id ≡ fill_id, Fill.market_ticker ≡ ticker
SAME_AS = {"fill_id": "trade_id", "ticker": "market_ticker"}
# 2025 fills also spelled the dollar prices *_fixed ("Fill price for the yes side in fixed point dollars")
SAME_AS_FILL_PRICES = {"yes_price_dollars": "yes_price_fixed", "no_price_dollars": "no_price_fixed"}


def expected_row(columns: dict[str, str], item: dict) -> dict:
    """Column → expected lake value for one API item (drift rules applied)."""
    row = {}
    for name, kind in columns.items():
        value = item.get(name)
        fills = "fill_id" in columns
        if value is None and fills and name in SAME_AS:  # an older fill: trade_id, market_ticker
            value = item.get(SAME_AS[name])
        if (
            value is None
            and fills
            and name in SAME_AS_FILL_PRICES
            and item.get(name[: -len("_dollars")]) is None
        ):
            value = item.get(SAME_AS_FILL_PRICES[name])  # *_fixed (the integer cents win when present)
        if value is None and kind == "usd" and name.endswith("_dollars"):
            legacy = item.get(name[: -len("_dollars")]) if name[: -len("_dollars")] not in columns else None
            if isinstance(legacy, int) and not isinstance(legacy, bool):
                row[name] = Decimal(legacy) / 100
                continue
        if value is None and kind == "fp" and name.endswith("_fp"):
            legacy = item.get(name[: -len("_fp")])
            if isinstance(legacy, int) and not isinstance(legacy, bool):
                row[name] = Decimal(legacy)
                continue
        if (
            value is None
            and kind == "cents"
            and name + "_dollars" not in columns
            and item.get(name + "_dollars")
        ):
            row[name] = int(Decimal(item[name + "_dollars"]) * 100)
            continue
        row[name] = expected(kind, value)
    return row


def _loads(text):
    return None if text is None else json.loads(text, parse_float=Decimal)


def check_rows(columns: dict[str, str], source: list[dict], rows: list[dict], key, what: str = "") -> None:
    """Every source item is one lake row (matched by ``key(item)`` / ``key(row)``) with every value exact."""
    by_key = {}
    for r in rows:
        k = key(r)
        assert k not in by_key, f"{what}: key {k!r} landed twice"
        by_key[k] = r
    want_keys = [key(i | expected_row(columns, i)) for i in source]
    missing = [k for k in want_keys if k not in by_key]
    surplus = [k for k in by_key if k not in want_keys]
    assert not missing and not surplus, f"{what}: keys not landed {missing!r}; unexpected rows {surplus!r}"
    for item in source:
        want = expected_row(columns, item)
        row = by_key[key(item | want)]
        for name, kind in columns.items():
            got = row[name]
            if kind == "json":
                got = _loads(got)
            assert got == want[name], (
                f"{what} {key(item | want)!r}.{name}: lake {got!r}, API {item.get(name)!r}"
            )
        extra = _loads(row["_extra"]) or {}
        unknown = {k: v for k, v in item.items() if k not in columns}
        assert extra == unknown, (
            f"{what} {key(item | want)!r}: _extra {extra!r} != unknown fields {unknown!r}"
        )
