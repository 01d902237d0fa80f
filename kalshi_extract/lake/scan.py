"""A strict scanner for list pages in the compact form the API sends: straight from the body's bytes into Arrow
string and boolean columns with a few vectorised numpy steps, no JSON parser and no Python object per row.

It accepts only a body of exactly this shape; for anything else :meth:`PageScanner.scan` returns None and the caller
falls back to pyarrow's strict JSON reader (then to the row path), so the scanner decides nothing about odd pages:

- printable ASCII only (bytes 0x20-0x7E) and no backslash: no escape sequence, no control character, and every
  string's value is exactly the bytes between its two quotes;
- ``{"cursor":"<text>","<data_key>":[<item>,...]}`` or ``{"<data_key>":[<item>,...],"cursor":"<text>"}``, with no
  whitespace and at least one item;
- every item is ``{"<key>":<value>,...}`` with **all** the scanner's columns, each once, in one order for every
  item of the page (the first item's), and nothing else: an unknown, repeated or missing field fails the scan;
- a text column's value is a JSON string (not null, not a number); a boolean column's value is ``true`` or
  ``false``.

Every byte of the body is checked. The quotes give each item's *holes* (its values: the text between a value's
quotes, the literal after a boolean key's colon) at the places the first item's key order says; the body with every
hole cut out (its skeleton: keys, quotes, punctuation) must equal, byte for byte, the skeleton of a page of that
many items in that key order, and each boolean hole must be ``true`` or ``false``. So a JSON parser (pyarrow's
reader, orjson) reads from an accepted body exactly the strings and booleans extracted here, and the caller's casts
and checks run on identical input (``tests/lake/test_scan.py`` also fuzzes this against orjson).

Cost per page: two passes over the body (byte range, quote positions), index arithmetic on (rows × fields) arrays,
and two Arrow ``take`` calls on a zero-copy view of the body as an array of its pieces (the skeleton's pieces, then
every text value column after column).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["PageScanner", "keep_freed_memory"]

_QUOTE = 0x22
_ASCII_LO, _ASCII_HI = 0x20, 0x7E


_TUNED = False


def keep_freed_memory() -> bool:
    """Ask glibc's allocator to reuse freed blocks up to 1 MB instead of returning them to the system at once.

    A scanned page allocates numpy temporaries of 100-300 kB. By default glibc serves those from fresh ``mmap``
    regions or trims its per-thread heaps as soon as they are freed, so each of the next page's temporaries
    faults its pages in again (measured: ~300 page faults and +1.2 ms of system CPU per 1,000-row page on the
    paginator's helper thread, more than the scan itself). With ``M_MMAP_THRESHOLD`` 1 MB and ``M_TRIM_THRESHOLD``
    4 MB each heap keeps at most ~4 MB of freed memory for reuse (RSS cost bounded, measured in the pull
    benchmark). Process-wide, set once; a no-op returning False where the C library is not glibc."""
    global _TUNED
    if _TUNED:
        return True
    _TUNED = True
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(mallopt(m_trim_threshold, 4 << 20)) and bool(mallopt(m_mmap_threshold, 1 << 20))


class PageScanner:
    """Scans the pages of one stream. ``names``: the columns (all present in every item); ``texts``: which of them
    are JSON strings (the others are booleans). :meth:`scan` gives ``({name: array}, rows, cursor)`` or None."""

    def __init__(self, names: Sequence[str], texts: Sequence[bool], data_key: str) -> None:
        self.names = tuple(names)
        self.is_text = dict(zip(self.names, texts, strict=True))
        self.data_key = data_key.encode()
        self._templates: dict[tuple[bytes, ...], _Template] = {}  # by key order
        keep_freed_memory()

    def scan(self, body: bytes) -> tuple[dict[str, pa.Array], int, str] | None:
        if b"\\" in body or not 16 <= len(body) < 2**31:  # 32-bit Arrow offsets into the body
            return None
        b = np.frombuffer(body, dtype=np.uint8)
        if int(b.min()) < _ASCII_LO or int(b.max()) > _ASCII_HI:
            return None
        q = _quotes(b)
        if len(q) % 2 or len(q) < 8:
            return None
        opens, closes = q[0::2], q[1::2]  # string k's text is body[opens[k] + 1 : closes[k]]
        if body.startswith(b'{"cursor":"'):  # {"cursor":"<c>","<key>":[{ … }]}
            cursor_first, first, last, cursor_k = True, 3, len(opens), 1
        elif body.startswith(b'{"' + self.data_key + b'":[{"'):  # {"<key>":[{ … }],"cursor":"<c>"}
            cursor_first, first, last, cursor_k = False, 1, len(opens) - 2, len(opens) - 1
        else:
            return None
        template = self._template(body, opens, closes, first)
        if template is None or last <= first or (last - first) % template.strings:
            return None
        n = (last - first) // template.strings
        got = template.fill(b, body, q, first, n, cursor_first, cursor_k)
        if got is None:
            return None
        skeleton, values = got
        if not skeleton.equals(template.skeleton(n, cursor_first, self.data_key)):  # byte for byte
            return None
        return values, n, body[opens[cursor_k] + 1 : closes[cursor_k]].decode("ascii")

    def _template(self, body: bytes, opens: np.ndarray, closes: np.ndarray, first: int) -> _Template | None:
        """The layout of the page's first item (its key order), cached."""
        keys: list[bytes] = []
        k = first
        for _ in self.names:
            if k >= len(opens):
                return None
            key = body[opens[k] + 1 : closes[k]]
            name = key.decode("ascii")
            if name not in self.is_text or key in keys:
                return None
            keys.append(key)
            k += 2 if self.is_text[name] else 1
        order = tuple(keys)
        template = self._templates.get(order)
        if template is None:
            template = self._templates[order] = _Template([k.decode("ascii") for k in order], self.is_text)
        return template


class _Template:
    """One key order of an item. An item's *holes* are its values: the text between a text value's quotes, and
    the literal after a boolean key's colon. The page with every hole cut out (its *skeleton*) must equal the
    skeleton this template expects for that many items: keys, quotes and punctuation, byte for byte."""

    def __init__(self, keys: Sequence[str], is_text: dict[str, bool]) -> None:
        self.keys = tuple(keys)
        self.texts = tuple(is_text[k] for k in keys)
        # per hole, where its two ends are: (offset in the quote positions from 2 × its string's index, then a
        # byte offset): a text value runs from its opening quote + 1 to its closing quote; a boolean from its
        # key's closing quote + 2 (after `":`) to the next string's opening quote - 1 (`,"`) or - 3 (`},{"`)
        hole_s, at, add = [], [], []
        s = 0
        for j, text in enumerate(self.texts):
            if text:
                hole_s.append(s + 1)
                at.append((0, 1))
                add.append((1, 0))
                s += 2
            else:
                hole_s.append(s)
                at.append((1, 2))
                add.append((2, -3 if j == len(self.texts) - 1 else -1))
                s += 1
        self.strings = s
        self.holes = len(self.keys)
        self._hole_s = np.array(hole_s, dtype=np.int64)
        self._at = np.array(at, dtype=np.int64)
        self._add = np.array(add, dtype=np.int64)
        self.text_cols = [j for j, t in enumerate(self.texts) if t]
        self.bool_cols = [j for j, t in enumerate(self.texts) if not t]
        self._layouts: dict[tuple[int, int, bool], tuple] = {}
        self._skeletons: dict[tuple[int, bool, bytes], pa.Buffer] = {}

    def _layout(self, n: int, first: int, cursor_first: bool) -> tuple:
        """Index arrays for a page of ``n`` items (cached: almost every page has the same ``n``)."""
        key = (n, first, cursor_first)
        got = self._layouts.get(key)
        if got is None:
            items = first + self.strings * np.arange(n, dtype=np.int64)
            where = 2 * (items[:, None] + self._hole_s)[:, :, None] + self._at  # (n, holes, 2) into quotes
            add = np.broadcast_to(self._add, where.shape).ravel().copy()
            pieces = 2 * (n * self.holes + 1) + 1
            even = np.arange(0, pieces, 2, dtype=np.int64)  # the skeleton's pieces
            shift = 2 if cursor_first else 0  # the cursor's hole comes first
            cols = np.array(self.text_cols, dtype=np.int64)
            text = (shift + 2 * (cols[:, None] + self.holes * np.arange(n, dtype=np.int64)) + 1).ravel()
            got = (where.ravel(), add, _indices(even), _indices(text))
            if len(self._layouts) > 8:
                self._layouts.clear()
            self._layouts[key] = got
        return got

    def fill(
        self,
        b: np.ndarray,
        body: bytes,
        q: np.ndarray,
        first: int,
        n: int,
        cursor_first: bool,
        cursor_k: int,
    ) -> tuple[pa.Buffer, dict[str, pa.Array]] | None:
        """``(skeleton, {column: values})``, or None when a hole is not a value of its kind."""
        where, add, even, text_idx = self._layout(n, first, cursor_first)
        quotes = np.append(q, len(body))  # the last item's last boolean runs to the body's tail
        cuts = quotes[where] + add  # every item's holes in body order: start, end, start, end …
        bounds = np.empty(len(cuts) + 4, dtype=np.int32)
        bounds[0], bounds[-1] = 0, len(body)
        cursor = (q[2 * cursor_k] + 1, q[2 * cursor_k + 1])
        if cursor_first:
            bounds[1:3] = cursor
            bounds[3:-1] = cuts
        else:
            bounds[1:-3] = cuts
            bounds[-3:-1] = cursor
        if (bounds[1:] < bounds[:-1]).any():  # a hole that is not where a value would be
            return None
        pieces = pa.Array.from_buffers(
            pa.string(), len(bounds) - 1, [None, pa.py_buffer(bounds), pa.py_buffer(body)]
        )  # even pieces: the skeleton; odd pieces: the holes (no copy)
        values: dict[str, pa.Array] = {}
        if self.bool_cols:
            spans = cuts.reshape(n, self.holes, 2)[:, self.bool_cols]
            start, length = spans[..., 0], spans[..., 1] - spans[..., 0]
            true = length == 4
            if not (true | (length == 5)).all():
                return None
            head = b[start[..., None] + np.arange(4)]  # `true`, or `fals` then `e`
            if not (head == np.where(true[..., None], _TRUE, _FALS)).all():
                return None
            if not (b[start[~true] + 4] == _E).all():
                return None
            for j, c in enumerate(self.bool_cols):
                bits = np.packbits(true[:, j], bitorder="little")
                values[self.keys[c]] = pa.Array.from_buffers(pa.bool_(), n, [None, pa.py_buffer(bits)])
        if self.text_cols:  # one column after another
            taken = pieces.take(text_idx)
            for j, c in enumerate(self.text_cols):
                values[self.keys[c]] = taken.slice(j * n, n)
        skeleton = pieces.take(even)
        size = int(np.frombuffer(skeleton.buffers()[1], dtype=np.int32, count=len(skeleton) + 1)[-1])
        data = skeleton.buffers()[2]
        return (pa.py_buffer(b"") if data is None else data.slice(0, size)), values

    def skeleton(self, n: int, cursor_first: bool, data_key: bytes) -> pa.Buffer:
        """The page of ``n`` items with every value cut out."""
        key = (n, cursor_first, data_key)
        got = self._skeletons.get(key)
        if got is None:
            fields = ",".join(
                f'"{k}":""' if t else f'"{k}":' for k, t in zip(self.keys, self.texts, strict=True)
            )
            items = ",".join(["{" + fields + "}"] * n)
            dk = data_key.decode("ascii")
            page = (
                f'{{"cursor":"","{dk}":[{items}]}}' if cursor_first else f'{{"{dk}":[{items}],"cursor":""}}'
            )
            got = pa.py_buffer(page.encode("ascii"))
            if len(self._skeletons) > 8:
                self._skeletons.clear()
            self._skeletons[key] = got
        return got


_TRUE = np.frombuffer(b"true", dtype=np.uint8)
_FALS = np.frombuffer(b"fals", dtype=np.uint8)
_E = ord("e")


def _quotes(b: np.ndarray) -> np.ndarray:
    """Positions of the body's quote characters (Arrow's ``indices_nonzero`` on the packed comparison: ~25% less
    CPU than ``np.flatnonzero`` on a 300 kB page)."""
    bits = np.packbits(b == _QUOTE, bitorder="little")
    found = pc.indices_nonzero(pa.Array.from_buffers(pa.bool_(), len(b), [None, pa.py_buffer(bits)]))
    return np.frombuffer(found.buffers()[1], dtype=np.int64, count=len(found), offset=found.offset * 8)


def _indices(idx: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(pa.int64(), len(idx), [None, pa.py_buffer(np.ascontiguousarray(idx))])
