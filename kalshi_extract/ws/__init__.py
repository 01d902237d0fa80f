"""The Kalshi WebSocket client: live books, trades, tickers, lifecycle; your fills, orders, positions, order groups.

Built on the ``websockets`` library (framing, pings, close handshake) beside the REST client, sharing its
settings (``Settings.websocket_url``: ``KALSHI_WS_URL``, else per ``KALSHI_ENV``) and its signer.

Use it (async)::

    from kalshi_extract.settings import Settings
    from kalshi_extract.ws import Gap, KalshiStream, OrderbookDelta

    async with KalshiStream(Settings.load()) as stream:
        book, trades = await stream.subscribe(["orderbook_delta", "trade"], ["KXBTC-26DEC31-T100000"])
        async for item in stream:          # messages and the stream's own events, in arrival order
            if isinstance(item, Gap):
                ...                        # mark item.markets suspect from item.at until their next snapshot
            elif isinstance(item, OrderbookDelta):
                print(item.market_ticker, item.side, item.price, item.delta)   # Decimal, never float

Or from a script or notebook (the loop runs in a thread; iteration blocks)::

    from kalshi_extract.ws import SyncStream

    with SyncStream(Settings.load()) as stream:
        stream.subscribe("ticker", ["KXBTC-26DEC31-T100000"])
        for item in stream:
            print(item)

The connection
--------------
One connection carries every subscription. The upgrade request carries the three ``KALSHI-ACCESS-*`` headers,
signing ``timestamp + "GET" + <the URL's path>`` (``/trade-api/ws/v2``) with the REST signer, re-signed on
every reconnect; without a configured key it connects unsigned (public channels, where the server allows). A
refused upgrade raises ``AuthenticationError`` (401/403) or the ``KalshiApiError`` of its status; an
unreachable host ``TransportError``. The first connection's failure is raised by ``connect()``; later drops
reconnect by themselves. Secrets never reach logs: the ``websockets`` protocol logger is held at INFO, since
at DEBUG it would print the request headers.

Commands are JSON frames with an ``id``; the reply with the same ``id`` (``subscribed``, ``ok``,
``unsubscribed``, or ``error``) completes the call, and an ``error`` frame raises ``WebSocketError`` with
Kalshi's ``code``. ``subscribe`` sends one command per channel, so each reply maps to exactly one
:class:`Subscription` (one ``sid``).

A subscription
--------------
::

    pending ──subscribe sent, "subscribed" {sid}──▶ active ──unsubscribe──▶ closed
       ▲                                             │  │
       │                       connection lost       │  │ error frame on (re)subscribe ──▶ failed
       └─────────────────────────────────────────────┘  │     (SubscriptionFailed event; not re-made)
                                                        │
                          seq gap / duplicate / slow consumer: Gap event, resync (stays active)

``Subscription.markets`` is the wanted list: ``add_markets``/``delete_markets`` change it first, so a
reconnect re-makes the subscription as it is now, whatever happened to the command in flight.

Sequence discipline
-------------------
``seq`` counts per subscription (``sid``), not per market, and only some channels carry it (order books,
``order_group_updates``). For each frame with a ``seq``:

- the first of a sid, the next one (``last + 1``), or a snapshot that restarts the count → delivered;
- ``seq > last + 1`` (a gap) → a :class:`Gap` (``seq_gap``, expected/got, every market of the sid) is queued
  **before** the frame, the frame is delivered, and the stream resyncs the sid: ``update_subscription``
  ``get_snapshot`` for all its markets (order books), or unsubscribe + subscribe (other channels, or if the
  server refuses ``get_snapshot``). A market's book is whole again at its next ``OrderbookSnapshot``;
- ``seq <= last`` (a duplicate) → the frame is **not** delivered, a ``Gap`` (``duplicate``) is queued and the
  sid is resynced the same way (a repeated seq means the feed cannot be trusted).
Replies that carry a sid's ``seq`` (``ok`` to ``update_subscription``) advance it only when they are the next.
Trades are also de-duplicated by ``trade_id`` over the last few thousand.

Reconnect
---------
The connection is dead when the server closes it (close frame), when it is cut without one, or when a ping gets
no pong within ``ping_timeout`` (we ping every ``ping_interval``; Kalshi's own heartbeat pings are answered by
the library). Then, in this order: pending commands fail with ``TransportError``; a :class:`Disconnected`
event (reason, clean, close code); a ``Gap`` (``disconnected``) for every subscription and its markets — what
happened while down is lost and said so; reconnect attempts with capped, jittered exponential backoff
(``backoff_initial`` doubling up to ``backoff_max``, times 50–100 %) while the error is retriable; a
:class:`Reconnected` event (attempts, downtime, the reason); every wanted subscription re-made (new sids; books
arrive as fresh snapshots). Frames of the old connection were all queued before ``Disconnected``, and nothing
of it is read after: nothing is delivered twice. A non-retriable failure (e.g. the key was revoked: 401) ends
the iteration with that error.

Bounded queue
-------------
Channel messages wait in one queue of at most ``max_queue``. When it is full the consumer is slow: further
channel messages are dropped (counted in ``stats.dropped``) until it has drained to half; then a
:class:`SlowConsumer` event (how many, since when) and a ``Gap`` (``slow_consumer``) per affected sid are
queued. Book sids are re-snapshotted (``get_snapshot``); trades and tickers cannot be had again by
re-subscribing, so their ``Gap`` says ``resync="none"`` (the REST tape has the trades). Memory stays bounded;
nothing is lost without a ``Gap``. The stream's own events are never dropped (there are few).
``stream.stats`` counts messages, gaps, duplicates, reconnects, drops and slow-consumer episodes;
``stream.queue_depth`` is what waits now.

Messages: :mod:`kalshi_extract.ws.messages` (exact ``Decimal`` values; unknown types delivered as
:class:`Message`, never dropped).
"""

from kalshi_extract.ws.messages import (
    Disconnected,
    Event,
    EventFeeUpdate,
    EventLifecycle,
    Fill,
    Gap,
    MarketLifecycle,
    MarketPosition,
    Message,
    OrderbookDelta,
    OrderbookSnapshot,
    OrderGroupUpdate,
    Reconnected,
    SlowConsumer,
    SubscriptionFailed,
    Ticker,
    Trade,
    UserOrder,
    decode_frame,
    parse_message,
)
from kalshi_extract.ws.stream import KalshiStream, StreamOptions, StreamStats, Subscription
from kalshi_extract.ws.sync import SyncStream

CHANNELS = (
    "orderbook_delta",
    "trade",
    "ticker",
    "market_lifecycle_v2",
    "fill",
    "user_orders",
    "market_positions",
    "order_group_updates",
)
PRIVATE_CHANNELS = ("fill", "user_orders", "market_positions", "order_group_updates")

__all__ = [
    "CHANNELS",
    "PRIVATE_CHANNELS",
    "KalshiStream",
    "SyncStream",
    "StreamOptions",
    "StreamStats",
    "Subscription",
    "SubscriptionFailed",
    "Message",
    "OrderbookSnapshot",
    "OrderbookDelta",
    "Trade",
    "Ticker",
    "MarketLifecycle",
    "EventLifecycle",
    "EventFeeUpdate",
    "Fill",
    "UserOrder",
    "MarketPosition",
    "OrderGroupUpdate",
    "Gap",
    "Disconnected",
    "Reconnected",
    "SlowConsumer",
    "Event",
    "decode_frame",
    "parse_message",
]
