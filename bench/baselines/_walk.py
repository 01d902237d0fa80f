"""The page loop the hand-written baselines share: GET each ``--path`` page by page, following the cursor.

Pages answered 429 are counted and retried after half a second (the baselines do no pacing of their own); any
other HTTP error raises. What a page is worth (parse it or not, keep rows or not) is the caller's ``read_page``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests


def walk_pages(
    session: requests.Session, args, read_page: Callable[[requests.Response], str | None]
) -> tuple[int, int]:
    """Walk every page of every ``args.path``; ``read_page(response)`` returns the next cursor (falsy: done).

    Returns ``(pages, throttled)``: pages read and 429 answers retried.
    """
    pages = throttled = 0
    for path in args.path:
        url = args.base_url.rstrip("/") + path
        cursor = None
        while True:
            params = {"limit": args.limit}
            if cursor:
                params["cursor"] = cursor
            response = session.get(url, params=params, timeout=60)
            if response.status_code == 429:
                throttled += 1
                time.sleep(0.5)
                continue
            response.raise_for_status()
            pages += 1
            cursor = read_page(response)
            if not cursor:
                break
    return pages, throttled
