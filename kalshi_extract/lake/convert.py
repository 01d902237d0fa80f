"""API items (parsed JSON objects) → typed Arrow record batches, column by column.

Speed matters here (target ≤ 4 µs CPU per trade row end to end), so a page is converted column-wise: one list
comprehension pulls a field out of every item, Arrow builds a string array from it, and Arrow's C++ casts turn the
strings into ``decimal128`` and ``timestamp`` values. No per-row ``Decimal`` or ``datetime`` is ever built and no
value goes through ``float``: ``"0.5600"`` → ``decimal128(18,6)`` is an exact string cast that fails (rather than
rounds) when a value has more decimals than the column holds. Timestamps accept any fraction length
(``"13:59:59.53451Z"`` is .534510 s); more than 6 fractional digits are truncated to microseconds.

The drift rules (unknown fields → ``_extra``, missing → null, cents ↔ ``_dollars``) are described in
:mod:`kalshi_extract.lake.schemas`. JSON numbers for decimal columns (``fee_multiplier``, strikes) are exact when the
page was parsed with :func:`loads_exact` (numbers kept as their text); from an orjson-parsed float they go through
``repr``, which is exact for the ≤ 15 significant digits such fields carry. The few values parsed one by one
(legacy cents, integers sent as text) go through :func:`kalshi_extract.money.to_decimal`.

Odd values never fail a pull (the real API is checked against what it sends, not what its spec says):

- ``""`` in a typed (time, decimal, integer, boolean) column is null: Kalshi's Go backend renders an unset optional
  that way (``"expiration_time": ""``, ``"settlement_value_dollars": ""``). Handled only after the fast column cast
  fails, so a page without one costs nothing extra;
- a value that does not fit its column (a money string with 7+ decimals, a strike with more decimals than its
  column, a fraction in an integer-cents field, a time that is not a time …) lands as a null cell, and the original
  value is kept in that row's ``_extra`` JSON under its field name, so nothing is lost. :attr:`Converter.unfit_fields`
  collects such field names (with one example value) for the once-per-run warning, like unknown fields. Only a
  page where the vectorised cast failed is re-checked value by value. :func:`column` alone still raises
  :class:`ConversionError` naming the value.
"""

from __future__ import annotations

import json
import operator
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from kalshi_extract.errors import LakeError
from kalshi_extract.lake.arrowfast import bool_array, const_str, const_ts, int_array, int_scalar, str_array
from kalshi_extract.lake.scan import PageScanner
from kalshi_extract.lake.schemas import ACCOUNT_FIELD, META_FIELDS, SAME_AS, TS, Col
from kalshi_extract.money import to_decimal


class ConversionError(LakeError):
    """A value the API sent cannot be stored exactly in its column (names the stream, column and value)."""

    retriable = False


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_FRACTION = r"(\.\d{6})\d+"  # RFC3339 fraction beyond microseconds (Go's RFC3339Nano)
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, OverflowError)


def loads_exact(body: bytes) -> object:
    """Parse a JSON body keeping every non-integer number as an exact ``Decimal`` (used for series/events/markets)."""
    return json.loads(body, parse_float=Decimal)


def decimal_as_json_number(value: object) -> object:
    """orjson ``default`` for JSON the lake writes: a ``Decimal`` (a JSON number kept exact by
    :func:`loads_exact`) goes back out as a number when a float says exactly the same number, else as its text.

    Unlike a request body (``kalshi_extract.api.http``, where a Decimal is a price sent as fixed-point text), the
    lake keeps what the API said: a number stays a number.
    """
    if isinstance(value, Decimal):
        as_float = float(value)
        return as_float if Decimal(repr(as_float)) == value else str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dumps_json(value: object) -> str:
    """JSON text of a nested value (sorted keys so equal values give equal text)."""
    return orjson.dumps(value, default=decimal_as_json_number, option=orjson.OPT_SORT_KEYS).decode()


def _num_text(v: object) -> str | None:
    """Text of a decimal-ish JSON value; never formats through float for strings/ints/Decimals."""
    if v is None:
        return None
    if isinstance(v, str):
        return v.strip()
    if isinstance(v, bool):
        raise TypeError("boolean where a number was expected")
    if isinstance(v, (int, Decimal)):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    raise TypeError(f"{type(v).__name__} where a number was expected")


# errors that mean "this value cannot be stored in this column" (the converter then checks value by value)
_CELL_ERRORS = (ConversionError, ArithmeticError, ValueError, TypeError, pa.ArrowException)


def _blank(v: object) -> bool:
    return isinstance(v, str) and not v.strip()


def _null_empty(strings: pa.Array) -> pa.Array:
    """``strings`` with every empty (or all-blank) string replaced by null, in one vectorised pass."""
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(strings)), int_scalar(0, pa.int32()))
    return pc.if_else(blank, pa.nulls(len(strings), pa.string()), strings)


def _fail(
    stream: str, col: Col, values: Sequence[object], target: pa.DataType, exc: Exception
) -> ConversionError:
    for v in values:
        try:
            if v is not None and not _blank(v):
                pc.cast(pa.array([_num_text(v) if col.kind != "ts" else v]), target)
        except Exception:  # noqa: BLE001 - we are only locating the bad value for the message
            return ConversionError(
                f"{stream}.{col.name}: value {v!r} cannot be stored exactly as {target} ({exc}). "
                "The API sent something the schema does not expect; report it with this message."
            )
    return ConversionError(f"{stream}.{col.name}: cannot convert column to {target}: {exc}")


def _decimal_array(stream: str, col: Col, values: list, target: pa.DataType) -> pa.Array:
    strings = str_array(values)
    if strings is None:
        try:
            strings = pa.array([_num_text(v) for v in values], pa.string())
        except TypeError as exc:
            raise ConversionError(f"{stream}.{col.name}: {exc}") from None
    try:
        return pc.cast(strings, target)
    except _ARROW_ERRORS:
        pass
    try:  # "" (an unset optional) is null
        return pc.cast(_null_empty(strings), target)
    except _ARROW_ERRORS as exc:
        raise _fail(stream, col, values, target, exc) from None


def _ts_array(stream: str, col: Col, values: list) -> pa.Array:
    strings = str_array(values)
    if strings is not None:
        try:
            return pc.cast(strings, TS)
        except _ARROW_ERRORS:
            pass
        # "" (an unset optional) is null; more than 6 fractional digits: truncate the text to µs (a cast via
        # ns fails on year 1 …)
        strings = pc.replace_substring_regex(_null_empty(strings), _LONG_FRACTION, r"\1")
        try:
            return pc.cast(strings, TS)
        except _ARROW_ERRORS as exc:
            raise _fail(stream, col, values, TS, exc) from None
    seconds = int_array(values)
    if seconds is not None:  # Unix seconds (Fill.ts, end_period_ts, updated_ts)
        return pc.multiply_checked(seconds, int_scalar(1_000_000)).cast(TS)
    micros: list[int | None] = []
    for v in values:  # Unix seconds (Fill.ts, end_period_ts, updated_ts) or a mix with text
        if v is None or _blank(v):
            micros.append(None)
        elif isinstance(v, bool):
            raise ConversionError(f"{stream}.{col.name}: boolean {v!r} where a time was expected")
        elif isinstance(v, int):
            micros.append(v * 1_000_000)
        elif isinstance(v, (float, Decimal)):
            micros.append(int(Decimal(str(v)) * 1_000_000))
        elif isinstance(v, str):
            try:
                micros.append(pc.cast(pa.array([v]), TS).cast(pa.int64())[0].as_py())
            except _ARROW_ERRORS as exc:
                raise ConversionError(f"{stream}.{col.name}: {v!r} is not an RFC3339 time ({exc})") from None
        elif isinstance(v, datetime):
            micros.append(int(v.timestamp() * 1_000_000))
        else:
            raise ConversionError(f"{stream}.{col.name}: {type(v).__name__} where a time was expected")
    return pa.array(micros, pa.int64()).cast(TS)


def _int_array(stream: str, col: Col, values: list) -> pa.Array:
    target = col.type
    fast = int_array(values, target)
    if fast is not None:
        return fast
    out = []  # not pa.array(values, int64): it silently truncates a float such as 1000.5
    for v in values:
        if v is None or (isinstance(v, int) and not isinstance(v, bool)):
            out.append(v)
            continue
        if _blank(v):
            out.append(None)
            continue
        try:
            d = to_decimal(_num_text(v) or "", col.name)
        except (ValueError, TypeError):
            raise ConversionError(f"{stream}.{col.name}: {v!r} is not an integer") from None
        if d != d.to_integral_value():
            raise ConversionError(f"{stream}.{col.name}: {v!r} is not a whole number")
        out.append(int(d))
    return pa.array(out, target)


def _bool_array(stream: str, col: Col, values: list) -> pa.Array:
    fast = bool_array(values)
    if fast is not None:
        return fast
    try:
        return pa.array(values, pa.bool_())
    except _ARROW_ERRORS:
        pass
    table = {"true": True, "false": False, "1": True, "0": False, 1: True, 0: False}
    out = []
    for v in values:
        if v is None or isinstance(v, bool):
            out.append(v)
        elif _blank(v):
            out.append(None)
        elif (v.lower() if isinstance(v, str) else v) in table:
            out.append(table[v.lower() if isinstance(v, str) else v])
        else:
            raise ConversionError(f"{stream}.{col.name}: {v!r} is not a boolean")
    return pa.array(out, pa.bool_())


def _str_array(values: list) -> pa.Array:
    fast = str_array(values)
    if fast is not None:
        return fast
    try:
        return pa.array(values, pa.string())
    except _ARROW_ERRORS:
        return pa.array(
            [v if v is None or isinstance(v, str) else dumps_json(v) for v in values], pa.string()
        )


def column(stream: str, col: Col, values: list) -> pa.Array:
    """Convert one column of raw JSON values to its Arrow type (see the kinds in :mod:`kalshi_extract.lake.schemas`)."""
    kind = col.kind
    if kind == "str":
        return _str_array(values)
    if kind in ("usd", "fp", "num", "strike"):
        return _decimal_array(stream, col, values, col.type)
    if kind == "ts":
        return _ts_array(stream, col, values)
    if kind in ("cents", "int", "int32"):
        return _int_array(stream, col, values)
    if kind == "bool":
        return _bool_array(stream, col, values)
    if kind == "json":
        return _str_array([None if v is None else dumps_json(v) for v in values])
    raise ValueError(f"unknown kind {kind!r}")


def _decimal_or_none(v: object) -> Decimal | None:
    """The exact Decimal of a legacy number, or None when it is not one (the original stays in ``_extra``)."""
    try:
        return to_decimal(_num_text(v) or "", "a legacy number")
    except (ValueError, TypeError):
        return None


def _legacy_fill(stream: str, col: Col, values: list, items: Sequence[dict], unknown: set[str]) -> list:
    """Apply the cents ↔ dollars drift rules for one column (only called when the legacy field is present).

    The legacy field is an unknown field, so it is kept in ``_extra`` as sent: a legacy value that is not a number
    (or a dollar amount that is not whole cents) leaves the typed cell null instead of failing the page.
    """
    name = col.name
    if col.kind == "usd" and name.endswith("_dollars") and name[:-8] in unknown:
        legacy = name[:-8]
        out = []
        for v, d in zip(values, items, strict=True):
            if v is None and d.get(legacy) is not None:
                cents = _decimal_or_none(d[legacy])
                v = None if cents is None else str(cents / 100)
            out.append(v)
        return out
    if col.kind == "fp" and name.endswith("_fp") and name[:-3] in unknown:
        legacy = name[:-3]
        return [v if v is not None else d.get(legacy) for v, d in zip(values, items, strict=True)]
    if col.kind == "cents" and name + "_dollars" in unknown:
        newer = name + "_dollars"
        out = []
        for v, d in zip(values, items, strict=True):
            if v is None and d.get(newer) is not None:
                dollars = _decimal_or_none(d[newer])
                cents = None if dollars is None else dollars * 100
                v = int(cents) if cents is not None and cents == cents.to_integral_value() else None
            out.append(v)
        return out
    return values


def _legacy_names(col: Col) -> str | None:
    if col.kind == "usd" and col.name.endswith("_dollars"):
        return col.name[:-8]
    if col.kind == "fp" and col.name.endswith("_fp"):
        return col.name[:-3]
    if col.kind == "cents":
        return col.name + "_dollars"
    return None


class Converter:
    """Turns lists of API items of one stream into record batches of that stream's lake schema.

    ``unknown_fields`` accumulates the names of fields the schema does not know, ``unfit_fields`` the names of
    fields with a value that did not fit its column (name → the first such value), both for the once-per-run
    report. An unfit value lands as a null cell and is kept in the row's ``_extra`` under its field name.
    """

    def __init__(
        self,
        stream: str,
        cols: Sequence[Col],
        schema: pa.Schema,
        *,
        run_id: str,
        loaded_at: datetime,
        account: str | None = None,
    ):
        self.stream = stream
        self.cols = tuple(cols)
        self.schema = schema
        self.known = frozenset(c.name for c in self.cols)
        self.known_order = tuple(c.name for c in self.cols)
        self.run_id = run_id
        self.loaded_at_us = (loaded_at.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)
        self.account = account
        self._meta_cache: tuple[int, tuple] | None = None  # (rows, the meta columns of a batch of that size)
        self.unknown_fields: set[str] = set()
        self.unfit_fields: dict[str, object] = {}
        self._legacy = {c.name: _legacy_names(c) for c in self.cols if _legacy_names(c)}
        # fast path (the usual page: every item has exactly the schema's fields): one C-level pass per page
        self._getter = operator.itemgetter(*self.known_order) if len(self.cols) >= 2 else None
        self._same_as = SAME_AS.get(stream, {})
        expected = [pa.field(c.name, c.type) for c in self.cols] + list(META_FIELDS)
        if ACCOUNT_FIELD.name in schema.names:
            expected.append(ACCOUNT_FIELD)
        if pa.schema(expected) != schema:
            raise ValueError(f"{stream}: converter columns do not match the stream schema")

    def convert(self, items: Sequence[dict]) -> pa.RecordBatch:
        """Convert items (dicts as the API sent them, or a :class:`PageColumns` from :class:`BodyDecoder`) to one
        record batch with the stream's full schema."""
        if isinstance(items, PageColumns):
            return self._finish(list(items.arrays), items.n, None)
        n = len(items)
        columns = self._exact_columns(items)
        unknown = set() if columns is not None else set().union(*items) - self.known
        unfit: dict[int, dict[str, object]] = {}  # row → {field: original value} of cells that did not fit
        arrays = []
        for i, col in enumerate(self.cols):
            name = col.name
            values = columns[i] if columns is not None else [d.get(name) for d in items]
            legacy = self._legacy.get(name)
            if legacy is not None and legacy in unknown:
                values = _legacy_fill(self.stream, col, values, items, unknown)
            same = self._same_as.get(name)
            if same is not None and None in values:
                values = [v if v is not None else d.get(same) for v, d in zip(values, items, strict=True)]
            try:
                arrays.append(column(self.stream, col, values))
            except _CELL_ERRORS:
                arrays.append(self._salvage(col, values, items, unfit))
        if unknown:
            self.unknown_fields |= unknown
        if unknown or unfit:
            extra = [self._extra(d, unknown, unfit.get(i)) for i, d in enumerate(items)]
        else:
            extra = None
        return self._finish(arrays, n, extra)

    def _finish(self, arrays: list, n: int, extra: list | None) -> pa.RecordBatch:
        """Append the meta columns (load time, run, ``_extra``, account) to the data columns."""
        loaded, run, no_extra, account = self._meta(n)
        arrays.append(loaded)
        arrays.append(run)
        arrays.append(_str_array(extra) if extra is not None else no_extra)
        if account is not None:
            arrays.append(account)
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _meta(self, n: int) -> tuple:
        """The constant meta columns of an ``n``-row batch: built once per page size and shared by every batch of
        that size (Arrow arrays are immutable; a full 1,000-row page is the usual case)."""
        cached = self._meta_cache
        if cached is not None and cached[0] == n:
            return cached[1]
        account = None
        if ACCOUNT_FIELD.name in self.schema.names:
            account = const_str(self.account, n) if self.account is not None else pa.nulls(n, pa.string())
        meta = (
            const_ts(self.loaded_at_us, n, TS),
            const_str(self.run_id, n),
            pa.nulls(n, pa.string()),
            account,
        )
        self._meta_cache = (n, meta)
        return meta

    def _exact_columns(self, items: Sequence[dict]) -> list[list] | None:
        """The values of every column (schema order) when each item has exactly the schema's fields, else None.

        One ``itemgetter`` call per item and one ``zip`` transpose, both in C, instead of a ``dict.get`` per cell:
        an item with a missing field raises ``KeyError`` (→ None: the general path handles it), and an item with
        all the schema's fields and no more keys than the schema has no unknown field.
        """
        getter = self._getter
        if getter is None or not items:
            return None
        try:
            sizes = set(map(len, items))
            if len(sizes) != 1 or sizes.pop() != len(self.known_order):
                return None
            rows = list(map(getter, items))
        except (KeyError, TypeError):
            return None
        return [list(c) for c in zip(*rows, strict=True)]

    def _salvage(self, col: Col, values: list, items: Sequence[dict], unfit: dict[int, dict]) -> pa.Array:
        """The column with every value that does not fit it nulled (slow path: only after the cast failed)."""
        kept = list(values)
        for i, v in enumerate(values):
            if v is None:
                continue
            try:
                column(self.stream, col, [v])
            except _CELL_ERRORS:
                kept[i] = None
                original = items[i].get(col.name)
                original = v if original is None else original  # filled from a legacy / same-as field
                unfit.setdefault(i, {})[col.name] = original
                self.unfit_fields.setdefault(col.name, original)
        return column(self.stream, col, kept)

    @staticmethod
    def _extra(item: dict, unknown: Iterable[str], unfit: dict[str, object] | None = None) -> str | None:
        extra = {k: item[k] for k in unknown if k in item}
        if unfit:
            extra.update(unfit)
        return dumps_json(extra) if extra else None


# --------------------------------------------------------------------------------------------------------------
# Column-wise decoding of a whole page body (no Python object per row)

# JSON type each column kind must arrive as for the column-wise path (anything else: the row path)
_BODY_KINDS = {
    "str": pa.string(),
    "usd": pa.string(),
    "fp": pa.string(),
    "ts": pa.string(),
    "bool": pa.bool_(),
    "cents": pa.int64(),
    "int": pa.int64(),
    "int32": pa.int64(),  # read as int64, then a safe cast (a value past int32 fails it: the row path)
}


def _body_type(col: Col) -> pa.DataType:
    """The JSON type ``col`` is read as: a time named ``ts`` / ``*_ts`` is Unix seconds (``Fill.ts``,
    ``end_period_ts``), every other time RFC3339 text. A page that sends the other form takes the row path."""
    if col.kind == "ts" and (col.name == "ts" or col.name.endswith("_ts")):
        return pa.int64()
    return _BODY_KINDS[col.kind]


class PageColumns:
    """A page's data columns, already typed (schema order, no meta columns), decoded by :class:`BodyDecoder`.

    Stands in for the page's item list: ``len()`` is the number of items and :meth:`Converter.convert` accepts it.
    """

    __slots__ = ("arrays", "n", "stream", "cols")

    def __init__(self, arrays: list[pa.Array], n: int, stream: str = "", cols: Sequence[Col] = ()) -> None:
        self.arrays = arrays
        self.n = n
        self.stream = stream
        self.cols = tuple(cols)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"PageColumns(n={self.n})"

    def stamped(self, fields: dict) -> PageColumns:
        """The page with each of ``fields`` set to its value on every row (what ``{**item, **fields}`` does to
        dict items); the value goes through the row path's :func:`column`, so both paths store the same cell."""
        unknown = set(fields) - {c.name for c in self.cols}
        if unknown:  # the row path would keep it in _extra: stamps are the code's, so this is a bug, not data
            raise ValueError(
                f"{self.stream}: cannot stamp fields the schema does not know: {sorted(unknown)}"
            )
        arrays = list(self.arrays)
        for i, col in enumerate(self.cols):
            if col.name in fields:
                arrays[i] = column(self.stream, col, [fields[col.name]] * self.n)
        return PageColumns(arrays, self.n, self.stream, self.cols)


def stamp_items(items, fields: dict):
    """``items`` with ``fields`` set on every row: dict items are copied (``{**item, **fields}``), decoded columns
    (:class:`PageColumns`) get constant columns."""
    if isinstance(items, PageColumns):
        return items.stamped(fields)
    return [{**item, **fields} for item in items]


class BodyDecoder:
    """Decodes a list page's raw body (``{"<data_key>": [...], "cursor": ...}``) straight into typed Arrow columns
    with pyarrow's JSON reader and an explicit schema: no ``dict`` per row, no per-row Python work.

    It only takes pages it can prove it handles exactly as :class:`Converter`'s row path would; for any other page
    :meth:`decode` returns None and the caller parses the body and converts it row by row (counted in
    :attr:`row_pages`). The reader is strict: an unknown field (in an item or at the top level), a field sent twice,
    a value of another JSON type than expected (a number where a string is expected, a string where a boolean or an
    integer is, a fraction where an integer is), a null item or a null/missing data list all make the read fail.
    After the read, every decimal, time and narrower integer column is cast in one vectorised step; a cast that
    fails (an unset optional ``""``, a money string with more decimals than its column, a time with more than 6
    fractional digits, Unix seconds past the timestamp range …) also sends the page to the row path, which keeps
    the odd value in ``_extra``. So a page decoded here has no unknown field and no odd value: its ``_extra`` is
    null, exactly as the row path would write it.

    JSON types by column kind: strings, decimal strings and RFC3339 times (``ts`` / ``*_ts``: Unix seconds) are
    text, booleans are ``true``/``false``, integer and cents columns are JSON integers. A column the row path fills
    from another field when null (``SAME_AS``: Fill ``fill_id`` ← ``trade_id``) is coalesced the same way after the
    read when the other field is a column of the same kind; when it is not a column (``yes_price_fixed``) it is an
    unknown field, so a page that sends it takes the row path. Streams with a column of another kind (JSON numbers
    for exact decimals: markets, events …) get no decoder (:meth:`for_stream`); today: trades, fills, orders,
    settlements.
    """

    def __init__(self, stream: str, cols: Sequence[Col], data_key: str) -> None:
        self.stream = stream
        self.cols = tuple(cols)
        self.data_key = data_key
        item = pa.struct([pa.field(c.name, _body_type(c)) for c in self.cols])
        schema = pa.schema([pa.field("cursor", pa.string()), pa.field(data_key, pa.list_(item))])
        self._parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
        index = {c.name: i for i, c in enumerate(self.cols)}
        # (column, source column) pairs: a null cell takes the source's value, as the row path does
        self._same_as = [(index[a], index[b]) for a, b in SAME_AS.get(stream, {}).items() if b in index]
        self._lock = threading.Lock()
        self.fast_pages = 0
        self.row_pages = 0
        self.scanned_pages = 0  # of the fast pages, those read by the scanner (the rest by pyarrow's reader)
        # pages in the API's compact form skip the JSON reader (strings and booleans only: trades)
        texts = [_body_type(c) == pa.string() for c in self.cols]
        bools = [_body_type(c) == pa.bool_() for c in self.cols]
        self._scanner = (
            PageScanner([c.name for c in self.cols], texts, data_key)
            if all(t or b for t, b in zip(texts, bools, strict=True))
            else None
        )

    @classmethod
    def for_stream(cls, stream: str, cols: Sequence[Col], data_key: str | None) -> BodyDecoder | None:
        """A decoder for ``stream``, or None when its columns are not all of the kinds the reader handles."""
        if not data_key or data_key == "cursor" or not cols:
            return None
        if any(c.kind not in _BODY_KINDS for c in cols):
            return None
        kinds = {c.name: c.kind for c in cols}
        for name, source in SAME_AS.get(stream, {}).items():
            if name not in kinds or (source in kinds and kinds[source] != kinds[name]):
                return None
        return cls(stream, cols, data_key)

    def decode(self, body: bytes) -> tuple[PageColumns, str | None] | None:
        """``(columns, next cursor)`` of the page, or None: parse it and use the row path (see the class)."""
        got = self._decode(body)
        with self._lock:
            if got is None:
                self.row_pages += 1
            else:
                self.fast_pages += 1
        return got

    def _decode(self, body: bytes) -> tuple[PageColumns, str | None] | None:
        if self._scanner is not None:
            scanned = self._scanner.scan(body)
            if scanned is not None:
                by_name, n, cursor = scanned
                with self._lock:
                    self.scanned_pages += 1
                # the very strings and booleans pyarrow's reader would give: a failed cast fails there too
                return self._typed([by_name[c.name] for c in self.cols], n, cursor)
        try:
            read = pj.ReadOptions(use_threads=False, block_size=max(len(body) + 1, 1 << 16))
            # a native zero-copy reader: a Python file object (io.BytesIO) is read through Python calls
            table = pj.read_json(pa.BufferReader(body), read_options=read, parse_options=self._parse)
        except _ARROW_ERRORS:
            return None
        if table.num_rows != 1:  # several JSON objects in one body
            return None
        lists = table.column(self.data_key).combine_chunks()
        if lists.null_count:  # "trades": null or no data key: the paginator's checks decide
            return None
        structs = lists.flatten()
        if structs.null_count:  # a null item
            return None
        cursor = table.column("cursor")[0].as_py()
        return self._typed(structs.flatten(), len(structs), cursor)

    def _typed(
        self, columns: list[pa.Array], n: int, cursor: str | None
    ) -> tuple[PageColumns, str | None] | None:
        """The columns as read (JSON types) cast to the lake's types, or None when a cast fails (the row path)."""
        arrays = []
        for col, values in zip(self.cols, columns, strict=True):
            try:
                if col.kind == "ts" and pa.types.is_integer(
                    values.type
                ):  # Unix seconds, as the row path does
                    values = pc.multiply_checked(values, int_scalar(1_000_000)).cast(TS)
                elif values.type != col.type:
                    values = pc.cast(values, col.type)
            except _ARROW_ERRORS:
                return None
            arrays.append(values)
        for i, source in self._same_as:
            if arrays[i].null_count:
                arrays[i] = pc.coalesce(arrays[i], arrays[source])
        return PageColumns(arrays, n, self.stream, self.cols), cursor
