"""SyncStream: the async stream for scripts and notebooks — its event loop runs in a thread, you iterate blocking."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from kalshi_extract.api.auth import Signer
from kalshi_extract.settings import Settings
from kalshi_extract.ws.stream import KalshiStream, StreamOptions, StreamStats, Subscription

__all__ = ["SyncStream"]


class SyncStream:
    """``with SyncStream(settings) as stream:`` — the same commands as :class:`KalshiStream`, blocking, and
    ``for item in stream`` (or ``stream.get(timeout=…)``). Connects on construction; ``close()`` stops the thread."""

    def __init__(
        self, settings: Settings, *, options: StreamOptions | None = None, signer: Signer | None = None
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kalshi-ws-loop", daemon=True)
        self._thread.start()
        self._stream = KalshiStream(settings, options=options, signer=signer)
        self._rest: deque = deque()  # what was still queued at close(), handed out before the end
        try:
            self._call(self._stream.connect())
        except BaseException:
            self._stop_loop()
            raise

    def __repr__(self) -> str:
        return f"Sync{self._stream!r}"

    def _call(self, coro, timeout: float | None = None):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def stats(self) -> StreamStats:
        return self._stream.stats

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        return self._stream.subscriptions

    @property
    def connection_id(self) -> int:
        return self._stream.connection_id

    def subscribe(
        self, channels: str | Iterable[str], markets: str | Iterable[str] | None = None, **params: Any
    ) -> list[Subscription]:
        return self._call(self._stream.subscribe(channels, markets, **params))

    def unsubscribe(self, *subs: Subscription) -> None:
        self._call(self._stream.unsubscribe(*subs))

    def update_subscription(self, sub: Subscription, action: str, markets=None) -> None:
        self._call(self._stream.update_subscription(sub, action, markets))

    def add_markets(self, sub: Subscription, markets) -> None:
        self._call(self._stream.add_markets(sub, markets))

    def delete_markets(self, sub: Subscription, markets) -> None:
        self._call(self._stream.delete_markets(sub, markets))

    def get_snapshot(self, sub: Subscription, markets=None) -> None:
        self._call(self._stream.get_snapshot(sub, markets))

    def list_subscriptions(self) -> list[dict[str, Any]]:
        return self._call(self._stream.list_subscriptions())

    def get(self, timeout: float | None = None):
        """The next message or event; ``TimeoutError`` if none within ``timeout``; ``StopIteration`` once closed."""
        if self._loop.is_closed():
            if self._rest:
                return self._rest.popleft()
            raise StopIteration
        future = asyncio.run_coroutine_threadsafe(self._stream.__anext__(), self._loop)
        try:
            return future.result(timeout)
        except StopAsyncIteration:
            raise StopIteration from None
        except concurrent.futures.TimeoutError:
            if future.cancel():
                raise TimeoutError(f"no message within {timeout} s") from None
            return future.result()  # it arrived while we gave up: keep it, never lose one

    def __iter__(self) -> SyncStream:
        return self

    def __next__(self):
        return self.get()

    def close(self) -> None:
        """Close the connection and stop the loop thread (idempotent)."""
        if not self._loop.is_closed() and self._thread.is_alive():
            self._call(self._stream.close())
            self._rest.extend(self._call(self._drain()))
        self._stop_loop()

    async def _drain(self) -> list:
        items = []
        try:
            async for item in self._stream:
                items.append(item)
        except Exception:  # noqa: BLE001 - the stream had failed; close() is not the place to raise it
            pass
        return items

    def _stop_loop(self) -> None:
        if self._loop.is_closed():
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
