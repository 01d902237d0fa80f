"""Build Arrow arrays and scalars from Python values without ``pa.array`` / ``pa.scalar``.

Why: pyarrow checks every Python object it converts for being a pandas object, which *imports pandas* on first use
(about 2 s of CPU and 60 MB of memory per process) whenever pandas is installed. A pull never needs pandas, so the
hot path builds arrays from raw buffers (offsets + UTF-8 bytes, numpy bitmaps) instead. Each builder returns
``None`` when the values are not of the simple expected shape; the caller then falls back to ``pa.array`` (correct,
only slower the first time).
"""

from __future__ import annotations

from itertools import repeat
from operator import is_not

import numpy as np
import pyarrow as pa

__all__ = [
    "str_array",
    "bool_array",
    "int_array",
    "const_ts",
    "const_str",
    "ts_scalar",
    "bool_scalar",
    "int_scalar",
    "all_true",
]

_NONE = type(None)
INT64 = pa.int64()


def _validity(values: list) -> tuple[pa.Buffer | None, int]:
    mask = np.fromiter(map(is_not, values, repeat(None)), dtype=bool, count=len(values))
    nulls = len(values) - int(mask.sum())
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(mask, bitorder="little")), nulls


def str_array(values: list) -> pa.Array | None:
    """A string array from a list of ``str``/None; None when another type is present."""
    n = len(values)
    try:
        data = "".join(values)
        texts = values
        validity, nulls = None, 0
    except TypeError:
        if not set(map(type, values)) <= {str, _NONE}:
            return None
        texts = ["" if v is None else v for v in values]
        data = "".join(texts)
        validity, nulls = _validity(values)
    raw = data.encode()
    if len(raw) >= 2**31:
        return None
    lengths = map(len, texts) if len(raw) == len(data) else (len(t.encode()) for t in texts)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.fromiter(lengths, dtype=np.int32, count=n), out=offsets[1:])
    if offsets[-1] != len(raw):
        return None
    return pa.Array.from_buffers(pa.string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(raw)], nulls)


def bool_array(values: list) -> pa.Array | None:
    types = set(map(type, values))
    if not types <= {bool, _NONE}:
        return None
    if _NONE in types:
        validity, nulls = _validity(values)
        bits = np.packbits(
            np.fromiter((v is True for v in values), dtype=bool, count=len(values)), bitorder="little"
        )
    else:  # no null (the usual case): the values are the bits
        validity, nulls = None, 0
        bits = np.packbits(np.fromiter(values, dtype=bool, count=len(values)), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [validity, pa.py_buffer(bits)], nulls)


def int_array(values: list, type_: pa.DataType = INT64) -> pa.Array | None:
    if not set(map(type, values)) <= {int, _NONE}:
        return None
    validity, nulls = _validity(values)
    dtype = np.int32 if type_ == pa.int32() else np.int64
    try:
        source = values if nulls == 0 else (0 if v is None else v for v in values)
        data = np.fromiter(source, dtype=dtype, count=len(values))
    except OverflowError:
        return None
    return pa.Array.from_buffers(type_, len(values), [validity, pa.py_buffer(data)], nulls)


def const_ts(micros: int, n: int, type_: pa.DataType) -> pa.Array:
    """``n`` copies of one timestamp (Unix µs)."""
    return pa.Array.from_buffers(type_, n, [None, pa.py_buffer(np.full(n, micros, dtype=np.int64))])


def const_str(text: str, n: int) -> pa.Array:
    """``n`` copies of one string."""
    raw = text.encode()
    offsets = (
        np.arange(0, (n + 1) * len(raw), len(raw) or 1, dtype=np.int32)[: n + 1]
        if raw
        else np.zeros(n + 1, dtype=np.int32)
    )
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw * n)])


def ts_scalar(micros: int, type_: pa.DataType) -> pa.Scalar:
    return const_ts(micros, 1, type_)[0]


def int_scalar(value: int, type_: pa.DataType = INT64) -> pa.Scalar:
    return int_array([value], type_)[0]


def bool_scalar(value: bool) -> pa.Scalar:
    return bool_array([value])[0]


def all_true(n: int) -> pa.Array:
    return pa.Array.from_buffers(
        pa.bool_(), n, [None, pa.py_buffer(np.packbits(np.ones(n, dtype=bool), bitorder="little"))]
    )
