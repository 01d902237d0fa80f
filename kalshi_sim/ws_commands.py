"""WebSocket commands: ``subscribe``, ``unsubscribe``, ``update_subscription``, ``list_subscriptions``.

Answers follow the AsyncAPI spec: ``subscribed`` (one per channel, each with its own ``sid``), ``ok``,
``unsubscribed`` and ``error`` ``{"code", "msg"[, "market_ticker"]}`` with the spec's codes. ``id`` is echoed
when the command had a non-zero one. Decisions where the spec is silent:
- a command is validated as a whole first (unknown channel → 8, bad market parameters → 11/14/16, nothing
  subscribed); then each channel subscribes on its own: a channel needing a key on an unsigned connection
  answers 9 and one already subscribed for an overlapping set of markets answers 6, the others succeed;
- ``orderbook_delta`` sends, after all ``subscribed`` answers, one ``orderbook_snapshot`` per market;
- ``ok`` carries the subscription's *current* ``seq`` (the last one sent, omitted before any) without using a
  number, so a client that ignores ``ok`` never sees a false gap; ``unsubscribed`` takes the next ``seq``
  (it is the subscription's last message);
- ``update_subscription``: ``add_markets`` answers ``ok`` with the full market list (unless the subscription
  was made with ``skip_ticker_ack``) then snapshots of the added markets; ``delete_markets`` answers ``ok``;
  ``get_snapshot`` (``orderbook_delta`` only, markets of the subscription only) answers ``ok`` then the
  snapshots. A subscription to all markets cannot add or delete markets (11); lifecycle channels have no
  market filter (13).
"""

from __future__ import annotations

import orjson

from kalshi_sim.ws_feed import CHANNELS, NO_MARKET_FILTER, PUBLIC, Sub

MESSAGES = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    6: "Already subscribed",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
    17: "Internal error",
}
ACTIONS = ("add_markets", "delete_markets", "get_snapshot")


class CommandError(Exception):
    def __init__(self, code: int, market_ticker: str | None = None) -> None:
        super().__init__(MESSAGES[code])
        self.code = code
        self.market_ticker = market_ticker


def _send(conn, obj: dict) -> None:
    conn.push(orjson.dumps(obj), False)


def _error(conn, cid, code: int, market_ticker: str | None = None) -> None:
    msg = {"code": code, "msg": MESSAGES[code]}
    if market_ticker:
        msg["market_ticker"] = market_ticker
    out = {"type": "error", "msg": msg}
    if cid:
        out = {"id": cid, **out}
    _send(conn, out)


def _with_id(cid, obj: dict) -> dict:
    return {"id": cid, **obj} if cid else obj


def handle(hub, conn, raw: str) -> None:
    """Run one command frame; every answer goes through the connection's outbox."""
    try:
        cmd = orjson.loads(raw)
    except orjson.JSONDecodeError:
        _error(conn, None, 1)
        return
    if not isinstance(cmd, dict):
        _error(conn, None, 1)
        return
    cid = cmd.get("id")
    if not isinstance(cid, int) or isinstance(cid, bool) or cid < 0:
        cid = None
    name = cmd.get("cmd")
    fn = {
        "subscribe": _subscribe,
        "unsubscribe": _unsubscribe,
        "update_subscription": _update,
        "list_subscriptions": _list,
    }.get(name)
    if fn is None:
        _error(conn, cid, 5)
        return
    params = cmd.get("params")
    if name != "list_subscriptions" and not isinstance(params, dict):
        _error(conn, cid, 2)
        return
    try:
        with hub.ex.lock:
            fn(hub, conn, cid, params or {})
    except CommandError as e:
        _error(conn, cid, e.code, e.market_ticker)


def _markets(hub, params: dict, required: bool) -> list[str] | None:
    """The tickers named by market_ticker(s) / market_id(s); None when none are named."""
    given = [k for k in ("market_ticker", "market_tickers", "market_id", "market_ids") if k in params]
    if len(given) > 1:
        raise CommandError(11)
    if not given:
        if required:
            raise CommandError(14)
        return None
    key = given[0]
    value = params[key]
    if key in ("market_ticker", "market_id"):
        if not isinstance(value, str) or not value:
            raise CommandError(11)
        value = [value]
    elif not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise CommandError(11)
    ex = hub.ex
    out: list[str] = []
    for v in value:
        ticker = v if key.startswith("market_ticker") else hub.feed.ticker_of_id(v)
        m = ex.market_by_ticker.get(ticker) if ticker else None
        if m is None or m.created_us > ex.now_us:
            raise CommandError(16, v if key.startswith("market_ticker") else None)
        if ticker not in out:
            out.append(ticker)
    return out


def _flag(params: dict, name: str) -> bool:
    v = params.get(name, False)
    if not isinstance(v, bool):
        raise CommandError(11)
    return v


def _subscribe(hub, conn, cid, params: dict) -> None:
    channels = params.get("channels")
    if not isinstance(channels, list) or not channels:
        raise CommandError(3)
    if not all(isinstance(c, str) and c in CHANNELS for c in channels):
        raise CommandError(8)
    use_yes_price = _flag(params, "use_yes_price")
    initial = _flag(params, "send_initial_snapshot")
    skip_ack = _flag(params, "skip_ticker_ack")
    tickers = _markets(hub, params, required=False)
    if tickers is None and "orderbook_delta" in channels:
        raise CommandError(14)
    made: list[Sub] = []
    for channel in dict.fromkeys(channels):
        if conn.account is None and channel not in PUBLIC:
            _error(conn, cid, 9)
            continue
        wanted = None if channel in NO_MARKET_FILTER or tickers is None else set(tickers)
        clash = _overlap(conn, channel, wanted)
        if clash is not None:
            _error(conn, cid, 6, clash or None)
            continue
        sub = Sub(conn.next_sid, channel, conn, wanted, use_yes_price)
        sub.skip_ack = skip_ack
        conn.next_sid += 1
        conn.subs[sub.sid] = sub
        hub.feed.add(sub)
        made.append(sub)
        _send(conn, _with_id(cid, {"type": "subscribed", "msg": {"channel": channel, "sid": sub.sid}}))
    for sub in made:
        if sub.channel == "orderbook_delta":
            for t in tickers:
                hub.feed.snapshot(sub, t)
        elif sub.channel == "ticker" and initial and tickers:
            for t in tickers:
                hub.feed.ticker_now(sub, t)


def _overlap(conn, channel: str, wanted: set[str] | None) -> str | None:
    """'' or the first clashing ticker when the connection already has ``channel`` for these markets."""
    for s in conn.subs.values():
        if s.channel != channel:
            continue
        if s.tickers is None or wanted is None:
            return ""
        both = s.tickers & wanted
        if both:
            return sorted(both)[0]
    return None


def _unsubscribe(hub, conn, cid, params: dict) -> None:
    sids = params.get("sids")
    if not isinstance(sids, list) or not sids:
        raise CommandError(4)
    for sid in sids:
        sub = conn.subs.pop(sid, None) if isinstance(sid, int) else None
        if sub is None:
            _error(conn, cid, 7)
            continue
        hub.feed.remove(sub)
        _send(conn, _with_id(cid, {"sid": sid, "seq": sub.next_seq(), "type": "unsubscribed"}))


def _update(hub, conn, cid, params: dict) -> None:
    action = params.get("action")
    if action is None:
        raise CommandError(15)
    if action not in ACTIONS:
        raise CommandError(13)
    sid, sids = params.get("sid"), params.get("sids")
    if (sid is None) == (sids is None):
        raise CommandError(12)
    if sids is not None:
        if not isinstance(sids, list) or len(sids) != 1:
            raise CommandError(12)
        sid = sids[0]
    sub = conn.subs.get(sid) if isinstance(sid, int) and not isinstance(sid, bool) else None
    if sub is None:
        raise CommandError(7)
    if sub.channel in NO_MARKET_FILTER:
        raise CommandError(13)
    if action == "get_snapshot" and sub.channel != "orderbook_delta":
        raise CommandError(13)
    tickers = _markets(hub, params, required=True)
    if sub.tickers is None:
        raise CommandError(11)
    feed = hub.feed
    if action == "get_snapshot":
        missing = [t for t in tickers if t not in sub.tickers]
        if missing:
            raise CommandError(11, missing[0])
        _ok(conn, cid, sub)
        for t in tickers:
            feed.snapshot(sub, t)
        return
    if action == "add_markets":
        added = [t for t in tickers if t not in sub.tickers]
        sub.tickers.update(added)
        if sub.channel == "orderbook_delta":
            for t in added:
                feed.watch(t)
        _ok(conn, cid, sub)
        if sub.channel == "orderbook_delta":
            for t in added:
                feed.snapshot(sub, t)
        return
    gone = [t for t in tickers if t in sub.tickers]
    sub.tickers.difference_update(gone)
    if sub.channel == "orderbook_delta":
        for t in gone:
            feed.unwatch(t)
    _ok(conn, cid, sub)


def _ok(conn, cid, sub: Sub) -> None:
    out: dict = {"sid": sub.sid}
    if sub.seq:
        out["seq"] = sub.seq
    out["type"] = "ok"
    if not sub.skip_ack:
        out["msg"] = {"market_tickers": sorted(sub.tickers or ())}
    _send(conn, _with_id(cid, out))


def _list(hub, conn, cid, params: dict) -> None:
    subs = [{"channel": s.channel, "sid": s.sid} for s in conn.subs.values()]
    _send(conn, _with_id(cid, {"type": "ok", "msg": subs}))
