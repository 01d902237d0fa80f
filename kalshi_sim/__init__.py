"""A local Kalshi-compatible exchange (real HTTP on loopback). Shares no code with kalshi_extract.

    from kalshi_sim import LocalExchange
    with LocalExchange(seed=7, size="small") as ex:
        acct = ex.create_account(balance_cents=1_000_000)
        ...

See ``kalshi_sim.server`` (LocalExchange), ``kalshi_sim.exchange`` (world, engine, lifecycle) and
``kalshi_sim.app`` (routes, auth, rate limits, faults).
"""

from kalshi_sim.server import LocalExchange, SimAccount

__all__ = ["LocalExchange", "SimAccount"]
