"""The one cursor paginator every list endpoint goes through.

``paginate(fetch, path, params, data_key, cursor)`` yields ``Page`` objects, one at a time (only the current
page is referenced, plus, with ``prefetch``, the next one being fetched on a helper thread). After a page,
``page.cursor`` is the cursor for the *next* page (None at the end): store it as a checkpoint and pass it back
as ``cursor=`` to resume. The loop stops on a missing, null or empty cursor and raises ``PaginationError`` on a
cursor seen before (a server loop would otherwise never end) or a malformed page.

A ``null`` data list (Go's nil slice) is read as an empty page; a missing data key is malformed.

Column-wise decoding (``decode`` with ``fetch_raw``): each page is fetched without parsing (``fetch_raw``) and
``decode(body)`` turns the raw body into ``(items, cursor)`` — ``items`` any sized object the caller understands
(the lake's typed columns), never a ``dict`` per row. When ``decode`` returns None (a page it cannot prove it handles
exactly) the body is parsed here as usual; when that parse fails too (a truncated or malformed body) the page is
fetched again through ``fetch``, whose retries handle such bodies. The cursor checks are the same either way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

import orjson

from kalshi_extract.errors import PaginationError

__all__ = ["Page", "paginate"]


class Page:
    """One page: ``items`` (list of dicts), ``body`` (raw bytes as received), ``cursor`` (next cursor or None),
    ``number`` (1-based), ``request_cursor`` (the cursor that fetched it), ``data`` (the whole parsed object,
    for side keys such as ``event_positions`` or ``milestones``), ``server_time`` (the response's ``Date`` header as
    an aware UTC datetime; None when the fetch gave none or it was unusable)."""

    __slots__ = ("items", "body", "cursor", "number", "request_cursor", "data", "server_time")

    def __init__(
        self,
        items: list,
        body: bytes,
        cursor: str | None,
        number: int,
        request_cursor: str | None,
        data: dict,
        server_time: datetime | None = None,
    ) -> None:
        self.items = items
        self.body = body
        self.cursor = cursor
        self.number = number
        self.request_cursor = request_cursor
        self.data = data
        self.server_time = server_time

    def __len__(self) -> int:
        return len(self.items)

    def __repr__(self) -> str:
        return f"Page(number={self.number}, items={len(self.items)}, cursor={self.cursor!r})"


def paginate(
    fetch: Callable[[str, dict], tuple[bytes, Any]],
    path: str,
    params: dict | None = None,
    data_key: str = "trades",
    cursor: str | None = None,
    decode: Callable[[bytes], tuple[Any, str | None] | None] | None = None,
    fetch_raw: Callable[[str, dict], tuple[bytes, Any]] | None = None,
    prefetch: bool | None = None,
) -> Iterator[Page]:
    """Yield pages of ``path`` until the cursor runs out. ``fetch(path, params) -> (body, parsed)``; a result with
    a ``server_time`` attribute (the HTTP layer's ``Reply``) passes it on to ``Page.server_time``. ``decode`` and
    ``fetch_raw`` (both or neither): column-wise decoding, see the module docstring.

    ``prefetch`` (default: on with ``decode``): while the caller works on page *n*, page *n+1* is fetched and
    decoded on one helper thread (pyarrow's JSON reader releases the GIL), so the network wait and the decode
    overlap the caller's convert/write. It changes no guarantee: the cursor checks run here, in page order, before
    the next request is made; pages are yielded in order, each once; at most one page is ahead (memory stays
    bounded); an error fetching page *n+1* is raised when the caller asks for it, after page *n* was yielded, as
    without prefetch. A caller that stops early (closes the generator) costs at most the one request in flight,
    which is awaited and discarded before the generator returns (no request outlives it). The first page is
    fetched on the calling thread, so a one-page listing starts no thread."""
    if decode is None or fetch_raw is None:
        decode = fetch_raw = None
    if prefetch is None:
        prefetch = decode is not None
    base = dict(params or {})
    base.pop("cursor", None)
    seen: set[str] = set()
    if cursor:
        seen.add(cursor)

    def get(cursor: str | None) -> tuple[bytes, Any, Any, datetime | None]:
        """``(body, parsed data or None, decoded (items, cursor) or None, server time)`` of the page at ``cursor``."""
        query = dict(base)
        if cursor:
            query["cursor"] = cursor
        reply = (fetch_raw or fetch)(path, query)
        body, data = reply
        server_time = getattr(reply, "server_time", None)
        del reply
        fast = None
        if fetch_raw is not None and data is None:
            fast = decode(body) if body else None
            if fast is None:
                try:
                    data = orjson.loads(body)
                except (
                    orjson.JSONDecodeError
                ):  # truncated/malformed: fetch it again the ordinary way (retried)
                    reply = fetch(path, query)
                    body, data = reply
                    server_time = getattr(reply, "server_time", None)
                    del reply
        return body, data, fast, server_time

    number = 0
    pool: ThreadPoolExecutor | None = None
    ahead: Future | None = None  # the next page, fetched on the helper thread
    try:
        while True:
            if ahead is not None:
                got, ahead = ahead.result(), None
            else:
                got = get(cursor)
            body, data, fast, server_time = got
            del got
            number += 1
            if fast is not None:
                items, nxt = fast
                data = {data_key: items, "cursor": nxt}
            else:
                items, nxt = _items_and_cursor(data, path, number, data_key)
            del fast
            if nxt is not None and not isinstance(nxt, str):
                raise PaginationError(
                    f"GET {path} page {number}: cursor is {type(nxt).__name__}, not a string"
                )
            if not nxt:
                nxt = None
            elif nxt in seen:
                raise PaginationError(
                    f"GET {path} page {number}: the server returned cursor {nxt[:40]!r} again; stopping to avoid "
                    f"an endless loop (resume later from the last stored cursor)"
                )
            else:
                seen.add(nxt)
            page = Page(items, body, nxt, number, cursor, data, server_time)
            del body, data, items  # hold no reference to this page while the next one is fetched
            if prefetch and nxt is not None:
                if pool is None:
                    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-ahead")
                ahead = pool.submit(get, nxt)
            yield page
            del page
            if nxt is None:
                return
            cursor = nxt
    finally:
        if ahead is not None:  # the caller stopped early: await the request in flight, drop its page
            ahead.cancel()
            with contextlib.suppress(BaseException):
                ahead.result()
            ahead = None
        if pool is not None:
            pool.shutdown(wait=True)


def _items_and_cursor(data: Any, path: str, number: int, data_key: str) -> tuple[list, Any]:
    """The item list and the raw next cursor of a parsed page (checked: a JSON object holding the data list)."""
    if not isinstance(data, dict):
        raise PaginationError(f"GET {path} page {number}: expected a JSON object, got {type(data).__name__}")
    if data_key not in data:
        keys = ", ".join(sorted(data)) or "none"
        raise PaginationError(
            f"GET {path} page {number}: no {data_key!r} list in the response (keys: {keys})"
        )
    items = data[data_key]
    if items is None:
        items = []
    elif not isinstance(items, list):
        raise PaginationError(f"GET {path} page {number}: {data_key!r} is {type(items).__name__}, not a list")
    return items, data.get("cursor")
