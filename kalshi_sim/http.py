"""Request plumbing of the local exchange: errors, query parsing, opaque cursors, pages.

Errors use Kalshi's body ``{"code", "message", "details"}`` with the real status codes; a 429 uses the
documented ``{"error": "too many requests"}``. Cursors are opaque base64url tokens naming the list they
belong to and the key of the next row (keyset pagination, so rows arriving meanwhile never shift a
page); the last page carries an empty cursor.
"""

from __future__ import annotations

import base64
import zlib

import orjson

DUMP = orjson.OPT_SORT_KEYS


class ApiError(Exception):
    """An error answered to the client."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def json(self) -> dict:
        """The error object, as a response body or a batch item's ``error``."""
        return {"code": self.code, "message": self.message, "details": self.details}

    def body(self) -> bytes:
        if self.status == 429:
            return b'{"error":"too many requests"}'
        return orjson.dumps(self.json(), option=DUMP)


def bad(message: str, details: str = "") -> ApiError:
    return ApiError(400, "invalid_parameters", message, details)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")


class Query:
    """Query-string accessor with strict parsing (bad values → 400)."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items
        self.map: dict[str, str] = {}
        for k, v in items:
            self.map.setdefault(k, v)

    def str(self, name: str, choices: tuple[str, ...] | None = None) -> str | None:
        v = self.map.get(name)
        if v is None or v == "":
            return None
        if choices is not None and v not in choices:
            raise bad(f"invalid {name}", f"{name} must be one of: {', '.join(choices)}")
        return v

    def all(self, name: str) -> list[str]:
        out: list[str] = []
        for k, v in self.items:
            if k == name:
                out.extend(x for x in v.split(",") if x)
        return out

    def int(self, name: str, default: int | None = None, lo: int | None = None, hi: int | None = None):
        v = self.map.get(name)
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            raise bad(f"invalid {name}", f"{name} must be an integer, got {v!r}") from None
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            raise bad(f"invalid {name}", f"{name} must be between {lo} and {hi}")
        return n

    def bool(self, name: str, default: bool = False) -> bool:
        v = self.map.get(name)
        if v is None or v == "":
            return default
        if v.lower() in ("true", "1"):
            return True
        if v.lower() in ("false", "0"):
            return False
        raise bad(f"invalid {name}", f"{name} must be true or false")

    def limit(self, lo: int, hi: int, default: int) -> int:
        n = self.int("limit", default, lo, hi)
        return default if n == 0 else n


def make_cursor(kind: str, key: int) -> str:
    raw = f"{kind}|{key}".encode()
    raw += zlib.crc32(raw).to_bytes(4, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(q: Query, kind: str) -> int | None:
    """The key encoded in the request's cursor (None = first page)."""
    token = q.map.get("cursor")
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body, crc = raw[:-4], raw[-4:]
        if zlib.crc32(body).to_bytes(4, "big") != crc:
            raise ValueError
        k, _, key = body.decode().partition("|")
        if k != kind:
            raise ValueError
        return int(key)
    except (ValueError, UnicodeDecodeError):
        raise bad("invalid cursor", "pass the cursor of the previous response unchanged") from None


def page(items: list, keyf, kind: str, q: Query, limit: int):
    """Keyset page over ``items`` already sorted by ``keyf`` descending.

    Returns (page items, next cursor or "").
    """
    start_key = read_cursor(q, kind)
    start = 0
    if start_key is not None:
        # first item whose key ≤ start_key (items sorted descending)
        lo, hi = 0, len(items)
        while lo < hi:
            mid = (lo + hi) // 2
            if keyf(items[mid]) > start_key:
                lo = mid + 1
            else:
                hi = mid
        start = lo
    chunk = items[start : start + limit]
    nxt = start + limit
    cursor = make_cursor(kind, keyf(items[nxt])) if nxt < len(items) else ""
    return chunk, cursor


def dumps(obj) -> bytes:
    return orjson.dumps(obj, option=DUMP)
