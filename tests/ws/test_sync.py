"""SyncStream: the same client from plain blocking code (its loop in a thread), against the scripted server."""

from __future__ import annotations

import asyncio
import threading

import pytest

from kalshi_extract.settings import Settings
from kalshi_extract.ws import OrderbookDelta, OrderbookSnapshot, StreamOptions, SyncStream
from tests.ws.scripted_server import ScriptedServer

FAST = StreamOptions(
    ping_interval=0.2, ping_timeout=0.3, command_timeout=2.0, open_timeout=2.0, close_timeout=0.2
)


@pytest.fixture
def server():
    """The scripted server running on its own loop in a thread; ``server.run(coro)`` runs a coroutine there."""
    loop = asyncio.new_event_loop()
    ready, stop = threading.Event(), asyncio.Event()
    box: dict = {}

    async def main():
        async with ScriptedServer(require_auth=False) as srv:
            box["server"] = srv
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    srv = box["server"]
    srv.run = lambda coro: asyncio.run_coroutine_threadsafe(coro, loop).result(5)
    yield srv
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)
    loop.close()


def test_blocking_iteration_commands_and_close(server):
    settings = Settings(env="local", api_url=server.api_url)
    with SyncStream(settings, options=FAST) as stream:
        (book,) = stream.subscribe("orderbook_delta", ["A"])
        assert book.sid == 1 and stream.connection_id == 1 and "signed=False" in repr(stream)
        first = next(iter(stream))
        assert isinstance(first, OrderbookSnapshot) and first.market_ticker == "A"
        with pytest.raises(TimeoutError):
            stream.get(timeout=0.1)
        server.run(server.delta(server.conns[0], 1, "A", "4.00"))
        delta = stream.get(timeout=2)
        assert isinstance(delta, OrderbookDelta) and str(delta.delta) == "4.00"  # nothing lost to the timeout
        assert stream.list_subscriptions() == [{"channel": "orderbook_delta", "sid": 1}]
        stream.get_snapshot(book)
        assert isinstance(stream.get(timeout=2), OrderbookSnapshot)
        stream.unsubscribe(book)
        assert stream.subscriptions == ()
    assert list(stream) == []  # closed: iteration ends
    stream.close()  # idempotent


def test_what_was_queued_at_close_is_still_handed_out(server):
    with SyncStream(Settings(env="local", api_url=server.api_url), options=FAST) as stream:
        stream.subscribe("orderbook_delta", ["A", "B"])
        server.run(server.wait_for(lambda: stream.stats.messages == 2))  # both snapshots queued, none taken
    assert [item.market_ticker for item in stream] == ["A", "B"]
