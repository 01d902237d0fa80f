"""Vectorised history for big worlds (benchmarks: ≥ 1,000,000 trades in seconds, not minutes).

The small and demo worlds run every background order through the matching engine. For more than
``BULK_THRESHOLD`` trades that costs ~100 µs a trade in Python, so the *history* (before the world's
origin) is generated with numpy instead, from the same model: Poisson taker arrivals per market, the
event's fair probability from its Brownian bridge, makers quoting ``fair ± half-spread`` on the market's
tick grid, the taker lifting the ask or hitting the bid (15% sweep one level further, printing a second
trade with the same timestamp). The quote history records those bid/ask levels, open interest comes from
sixteen background holders per market, and the live order books at the origin are then built by the
engine's makers. Everything after the origin (``advance``, user orders) goes through the engine as usual.
"""

from __future__ import annotations

import numpy as np

from kalshi_sim.world import MINUTE, TRADES_PER_ARRIVAL, strike_probability

BULK_THRESHOLD = 60_000
SWEEP_SHARE = 0.15


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): plenty for a fair price on a $0.001 grid."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t * np.exp(-a * a)
    return sign * y


def _snap(structure: str, x: np.ndarray, up: bool) -> np.ndarray:
    def one(step):
        return -(-x // step) * step if up else x - x % step

    if structure == "linear_cent":
        out = one(100)
        return np.clip(out, 100, 9_900)
    if structure == "deci_cent":
        return np.clip(one(10), 10, 9_990)
    d10, d100 = one(10), one(100)
    if up:
        out = np.where((x < 1000) | (x >= 9000), d10, d100)
    else:
        out = np.where((x <= 1000) | (x > 9000), d10, d100)
    return np.clip(out, 10, 9_990)


def _fair(ev, m, times: np.ndarray) -> np.ndarray:
    path = np.asarray(ev.path_x, dtype=np.float64)
    idx = np.clip((times - ev.open_us) // (5 * MINUTE), 0, len(path) - 1)
    x = path[idx]
    remaining = np.clip(ev.close_us - times, 0, None) / max(ev.close_us - ev.open_us, 1)
    s = ev.sigma * np.sqrt(remaining) + 1e-9
    if m.market_type == "scalar":
        return np.clip((x - m.floor_strike) / (m.cap_strike - m.floor_strike), 0.02, 0.98)

    def cdf(v):
        return 0.5 * (1.0 + _erf((v - x) / (s * np.sqrt(2.0))))

    return np.clip(strike_probability(m, cdf), 0.003, 0.997)


def generate(ex, t0: int, t1: int) -> None:
    """Fill ``ex.tape`` (and open interest, quotes) with background history over [t0, t1)."""
    rng = np.random.default_rng([ex.seed, 20_261_124])
    # the engine prints ~1.17 trades per arrival, this model 1 + SWEEP_SHARE; +3% so a world asked for
    # N trades holds at least N (Poisson noise)

    rate = ex.rate * TRADES_PER_ARRIVAL / (1 + SWEEP_SHARE) * 1.03
    parts = []
    for m in ex.markets:
        if m.is_mve or m.weight <= 0:
            continue
        lo, hi = max(m.open_us, t0), min(m.close_us, t1)
        if hi <= lo:
            continue
        n = int(rng.poisson(rate * m.weight * (hi - lo)))
        if n == 0:
            continue
        times = np.sort(rng.integers(lo, hi, n))
        fair = (_fair(ex.event_of[m.idx], m, times) * 10_000).astype(np.int64)
        tick = 100 if m.structure == "linear_cent" else 10
        if m.structure == "tapered_deci_cent":
            tick = np.where((fair <= 1000) | (fair > 9000), 10, 100)
        hs = tick * rng.choice(np.array([1, 1, 2, 3]), n) // 2 + 5
        bid = _snap(m.structure, fair - hs, up=False)
        ask = _snap(m.structure, fair + hs, up=True)
        ask = np.where(ask <= bid, _snap(m.structure, bid + 1, up=True), ask)
        taker_bid = rng.random(n) < 0.5
        price = np.where(taker_bid, ask, bid)
        whole = np.floor(rng.lognormal(2.3, 1.1, n)).astype(np.int64) + 1
        frac = np.where(rng.random(n) < 0.12, rng.integers(1, 100, n), 0)
        count = np.minimum(whole, 5_000) * 100 + frac
        sweep = rng.random(n) < SWEEP_SHARE
        k = np.flatnonzero(sweep)
        price2 = np.where(
            taker_bid[k], _snap(m.structure, ask[k] + 1, up=True), _snap(m.structure, bid[k] - 1, up=False)
        )
        count2 = (np.floor(rng.lognormal(1.5, 0.8, len(k))).astype(np.int64) + 1) * 100
        # interleave the sweep trades right after their first trade (same timestamp)
        order = np.concatenate([np.arange(n) * 2, k * 2 + 1])
        srt = np.argsort(order, kind="stable")
        t_all = np.concatenate([times, times[k]])[srt]
        p_all = np.concatenate([price, price2])[srt]
        c_all = np.concatenate([count, count2])[srt]
        s_all = np.concatenate([taker_bid, taker_bid[k]])[srt]
        parts.append((m.idx, t_all, p_all, c_all, s_all, times, bid, ask))
    if not parts:
        return
    # open interest with sixteen background holders per market (sequential, cheap integer work)
    oi_parts = []
    for i, t_all, _p, c_all, s_all, *_ in parts:
        owners = rng.integers(0, 16, (len(t_all), 2)).tolist()
        pos = [0] * 16
        long_oi = 0
        out = np.empty(len(t_all), dtype=np.int64)
        for j, (n, tb, (a, b)) in enumerate(zip(c_all.tolist(), s_all.tolist(), owners, strict=True)):
            for owner, d in ((a, n if tb else -n), (b, -n if tb else n)):
                before = pos[owner]
                after = before + d
                pos[owner] = after
                long_oi += (after if after > 0 else 0) - (before if before > 0 else 0)
            out[j] = long_oi
        oi_parts.append(out)
        ex.long_oi[i] = long_oi
        ex.bot_pos[i] = {o: v for o, v in enumerate(pos) if v}
    mk = np.concatenate([np.full(len(p[1]), p[0], dtype=np.int64) for p in parts])
    seq = np.concatenate([np.arange(len(p[1])) for p in parts])
    T = np.concatenate([p[1] for p in parts])
    P = np.concatenate([p[2] for p in parts])
    C = np.concatenate([p[3] for p in parts])
    S = np.concatenate([p[4] for p in parts])
    OI = np.concatenate(oi_parts)
    glob = np.lexsort((seq, mk, T))
    ids = rng.bytes(16 * len(T)).hex()
    ex.tape.bulk_load(
        T[glob], mk[glob], P[glob], C[glob], S[glob], OI[glob], ids, [m.ticker for m in ex.markets]
    )
    for i, _t, _p, _c, _s, times, bid, ask in parts:
        ex.tape.series[i].load_quotes(times, bid, ask)
