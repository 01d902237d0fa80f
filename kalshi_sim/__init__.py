"""A local Kalshi-compatible exchange (real HTTP and WebSocket on loopback). Shares no code with kalshi_extract.

    from kalshi_sim import LocalExchange
    with LocalExchange(seed=7, size="small") as ex:
        acct = ex.create_account(balance_cents=1_000_000)
        ...

See ``kalshi_sim.server`` (LocalExchange), ``kalshi_sim.exchange`` (world, engine, lifecycle),
``kalshi_sim.app`` (routes, auth, rate limits, faults) and ``kalshi_sim.ws`` (the WebSocket at
``/trade-api/ws/v2``: handshake, heartbeats, faults, back-pressure; ``ws_commands``, ``ws_feed``).
"""

from kalshi_sim.server import LocalExchange, SimAccount

__all__ = ["LocalExchange", "SimAccount"]
