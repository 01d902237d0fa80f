"""The static world: series, events and markets, generated deterministically from a seed.

Every event is built from its own random stream keyed by (seed, series, day), so an event looks the same
whatever else was generated before it, and advancing the clock in one step or in several creates the
same events. An event has a hidden *underlying* (a BTC price, an S&P close, a temperature, a rate
change, a payrolls number) that follows a Brownian bridge from its opening level to the final value;
market fair prices are probabilities derived from it, so markets of one event stay coherent and the
mutually exclusive brackets of an event sum to about one.

Series (category → ticker): Crypto → KXBTC (daily price brackets), Financials → KXINXD (S&P 500 daily
close, weekdays, maker fees, multiplier 0.5), Economics → KXFEDDECISION (rate decision, weekly in the sim,
``tapered_deci_cent`` price grid), Climate and Weather → KXHIGHNY (NYC high temperature), Economics →
KXPAYROLLS (weekly *scalar* market, ``flat`` fee type), Exotics → KXMVECROSSCATEGORY (multivariate combos,
``deci_cent`` grid, excluded by ``mve_filter=exclude`` and from ``/events``). A day's combo event comes from that
day's collection (``EventDef.collection``); each combo selects a crypto and a weather leg (the second combo's
weather leg on NO), closes when its first leg closes, is determined a minute after its last leg, and settles YES
exactly when every leg resolved to its side.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field

from kalshi_sim.fmt import to_us

HOUR = 3_600_000_000
DAY = 24 * HOUR
MINUTE = 60_000_000
TRADES_PER_ARRIVAL = 1.17  # measured average number of trades one taker arrival prints
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

LINEAR_CENT = [{"end": "1.0000", "start": "0.0000", "step": "0.0100"}]
DECI_CENT = [{"end": "1.0000", "start": "0.0000", "step": "0.0010"}]
TAPERED = [
    {"end": "0.1000", "start": "0.0000", "step": "0.0010"},
    {"end": "0.9000", "start": "0.1000", "step": "0.0100"},
    {"end": "1.0000", "start": "0.9000", "step": "0.0010"},
]
PRICE_RANGES = {"linear_cent": LINEAR_CENT, "deci_cent": DECI_CENT, "tapered_deci_cent": TAPERED}


def tick_below(structure: str, pips: int) -> int:
    """Tick size (pips) of the grid step that ends at or contains ``pips`` going down."""
    if structure == "linear_cent":
        return 100
    if structure == "deci_cent":
        return 10
    return 10 if pips <= 1000 or pips > 9000 else 100


def tick_above(structure: str, pips: int) -> int:
    if structure == "linear_cent":
        return 100
    if structure == "deci_cent":
        return 10
    return 10 if pips < 1000 or pips >= 9000 else 100


def on_grid(structure: str, pips: int) -> bool:
    """True when a YES price is strictly inside (0, 1) and on the market's tick grid."""
    if pips <= 0 or pips >= 10_000:
        return False
    if structure == "linear_cent":
        return pips % 100 == 0
    if structure == "deci_cent":
        return pips % 10 == 0
    if pips < 1000 or pips > 9000:
        return pips % 10 == 0
    return pips % 100 == 0


def snap_down(structure: str, pips: int) -> int:
    """Largest on-grid price ≤ pips (clamped into the tradable range)."""
    step = 100 if structure == "linear_cent" else 10
    p = max(step, min(10_000 - step, pips - pips % step))
    while not on_grid(structure, p):
        p -= 10
    return p


def snap_up(structure: str, pips: int) -> int:
    step = 100 if structure == "linear_cent" else 10
    p = max(step, min(10_000 - step, -(-pips // step) * step))
    while not on_grid(structure, p):
        p += 10
    return p


@dataclass
class SeriesDef:
    ticker: str
    title: str
    category: str
    tags: list[str]
    frequency: str
    fee_type: str
    fee_multiplier: str  # decimal text; emitted as a JSON number
    source_name: str
    source_url: str
    kind: str
    created_us: int


@dataclass
class MarketDef:
    idx: int
    ticker: str
    event_ticker: str
    series_ticker: str
    market_type: str  # binary | scalar
    title: str
    yes_sub_title: str
    no_sub_title: str
    strike_type: str
    floor_strike: float | None
    cap_strike: float | None
    created_us: int
    open_us: int
    close_us: int
    expected_exp_us: int
    latest_exp_us: int
    settlement_timer: int  # seconds from determination to settlement
    determine_us: int
    settle_us: int
    structure: str
    result: str  # yes | no | scalar (hidden until determination)
    settle_pips: int  # YES payout per contract in pips
    expiration_value: str
    rules_primary: str
    rules_secondary: str
    early_close_condition: str
    weight: float  # trading intensity
    mve: dict | None = None
    is_mve: bool = False


@dataclass
class EventDef:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    mutually_exclusive: bool
    strike_us: int
    strike_period: str | None
    created_us: int
    open_us: int
    close_us: int
    is_mve: bool
    x0: float
    xT: float
    sigma: float  # underlying stdev over the whole open window
    markets: list[MarketDef] = field(default_factory=list)
    path_t: list[int] = field(default_factory=list)
    path_x: list[float] = field(default_factory=list)
    #: multivariate events: the collection they come from (ticker, open/close, associated event tickers)
    collection: dict | None = None

    def underlying(self, t_us: int) -> float:
        """Level of the hidden underlying at time t (piecewise-constant on a 5-minute bridge grid)."""
        if t_us <= self.open_us:
            return self.x0
        if t_us >= self.close_us:
            return self.xT
        i = (t_us - self.open_us) // (5 * MINUTE)
        return self.path_x[min(i, len(self.path_x) - 1)]

    def fair(self, m: MarketDef, t_us: int) -> float:
        """Probability that market m settles YES (or expected value for scalar) at time t."""
        x = self.underlying(t_us)
        remaining = max(self.close_us - t_us, 0) / max(self.close_us - self.open_us, 1)
        s = self.sigma * math.sqrt(remaining) + 1e-9
        if m.market_type == "scalar":
            lo, hi = m.floor_strike, m.cap_strike
            return min(max((x - lo) / (hi - lo), 0.02), 0.98)

        def cdf(v: float) -> float:
            return 0.5 * (1.0 + math.erf((v - x) / (s * math.sqrt(2.0))))

        return min(max(strike_probability(m, cdf), 0.003), 0.997)


def strike_probability(m: MarketDef, cdf):
    """P(a binary market settles YES) given ``cdf``, the distribution of the underlying at close.

    Works on floats (``Event.fair``) and on numpy arrays (``bulk``'s vectorised history) alike.
    """
    if m.strike_type == "greater":
        return 1.0 - cdf(m.floor_strike)
    if m.strike_type == "less":
        return cdf(m.cap_strike)
    return cdf(m.cap_strike) - cdf(m.floor_strike)


def _date_code(d: dt.date) -> str:
    return f"{d.year % 100:02d}{_MONTHS[d.month - 1]}{d.day:02d}"


def _fmt_num(v: float) -> str:
    return f"{v:g}"


SERIES_SPECS = [
    (
        "KXBTC",
        "Bitcoin price range",
        "Crypto",
        ["BTC", "Daily"],
        "daily",
        "quadratic",
        "1",
        "CF Benchmarks",
        "https://www.cfbenchmarks.com",
        "crypto",
    ),
    (
        "KXINXD",
        "S&P 500 daily range",
        "Financials",
        ["S&P", "Indices"],
        "daily",
        "quadratic_with_maker_fees",
        "0.5",
        "S&P Dow Jones Indices",
        "https://www.spglobal.com",
        "index",
    ),
    (
        "KXFEDDECISION",
        "Fed rate decision",
        "Economics",
        ["Fed", "Rates"],
        "weekly",
        "quadratic_with_maker_fees",
        "1",
        "Federal Reserve",
        "https://www.federalreserve.gov",
        "fed",
    ),
    (
        "KXHIGHNY",
        "Highest temperature in NYC",
        "Climate and Weather",
        ["Weather"],
        "daily",
        "quadratic",
        "1",
        "National Weather Service",
        "https://www.weather.gov",
        "weather",
    ),
    (
        "KXPAYROLLS",
        "Nonfarm payrolls (scalar)",
        "Economics",
        ["Jobs"],
        "weekly",
        "flat",
        "1",
        "Bureau of Labor Statistics",
        "https://www.bls.gov",
        "scalar",
    ),
    (
        "KXMVECROSSCATEGORY",
        "Cross-category combos",
        "Exotics",
        ["Combos"],
        "custom",
        "quadratic",
        "1",
        "Kalshi",
        "https://kalshi.com",
        "mve",
    ),
]


def build_series(origin_us: int) -> list[SeriesDef]:
    return [
        SeriesDef(t, title, cat, tags, freq, fee, mult, sname, surl, kind, origin_us)
        for (t, title, cat, tags, freq, fee, mult, sname, surl, kind) in SERIES_SPECS
    ]


def _event_rng(seed: int, kind: str, day: int) -> random.Random:
    key = f"{seed}:{kind}:{day}"
    h = 1469598103934665603
    for ch in key.encode():
        h = ((h ^ ch) * 1099511628211) % (1 << 64)
    return random.Random(h)


def _bridge(rng: random.Random, ev: EventDef) -> None:
    """Sample a Brownian bridge x0 → xT on a 5-minute grid over the event's open window."""
    n = max(1, (ev.close_us - ev.open_us) // (5 * MINUTE))
    xs: list[float] = []
    x = ev.x0
    for i in range(n):
        left = n - i
        mean = x + (ev.xT - x) / left
        var = (ev.sigma**2) / n * (left - 1) / left
        x = rng.gauss(mean, math.sqrt(var)) if var > 0 else ev.xT
        xs.append(x)
    ev.path_x = xs


def events_for_day(seed: int, series: SeriesDef, day: int, next_idx: list[int]) -> list[EventDef]:
    """The events a series lists for a given UTC day number (days since 1970-01-01)."""
    date = dt.date(1970, 1, 1) + dt.timedelta(days=day)
    day_us = day * DAY
    rng = _event_rng(seed, series.kind, day)
    kind = series.kind
    code = _date_code(date)
    out: list[EventDef] = []

    def mk_event(
        ticker,
        title,
        sub,
        me,
        strike_us,
        period,
        open_us,
        close_us,
        x0,
        sigma,
        xT=None,
        created_us=None,
        is_mve=False,
    ):
        xT = rng.gauss(x0, sigma) if xT is None else xT
        ev = EventDef(
            ticker,
            series.ticker,
            title,
            sub,
            me,
            strike_us,
            period,
            created_us if created_us is not None else open_us - DAY + rng.randrange(1, 1_000_000),
            open_us,
            close_us,
            is_mve,
            x0,
            xT,
            sigma,
        )
        _bridge(rng, ev)
        out.append(ev)
        return ev

    def add_market(
        ev,
        suffix,
        title,
        yes_sub,
        no_sub,
        strike_type,
        floor,
        cap,
        structure,
        settle_timer,
        determine_after,
        weight,
        market_type="binary",
    ):
        x = ev.xT
        if market_type == "scalar":
            v = min(max((x - floor) / (cap - floor), 0.0), 1.0)
            settle_pips = int(round(v * 100)) * 100
            result = "scalar"
            expiration_value = _fmt_num(round(x, 1))
        else:
            if strike_type == "custom":
                yes = False
            elif strike_type == "greater":
                yes = x > floor
            elif strike_type == "less":
                yes = x < cap
            else:
                yes = floor <= x <= cap
            result = "yes" if yes else "no"
            settle_pips = 10_000 if yes else 0
            expiration_value = _fmt_num(round(x, 2))
        determine_us = ev.close_us + determine_after
        m = MarketDef(
            idx=next_idx[0],
            ticker=f"{ev.event_ticker}-{suffix}",
            event_ticker=ev.event_ticker,
            series_ticker=series.ticker,
            market_type=market_type,
            title=title,
            yes_sub_title=yes_sub,
            no_sub_title=no_sub,
            strike_type=strike_type,
            floor_strike=floor,
            cap_strike=cap,
            created_us=ev.created_us,
            open_us=ev.open_us,
            close_us=ev.close_us,
            expected_exp_us=determine_us,
            latest_exp_us=ev.close_us + 7 * DAY,
            settlement_timer=settle_timer,
            determine_us=determine_us,
            settle_us=determine_us + settle_timer * 1_000_000 + rng.randrange(1, 1_000_000),
            structure=structure,
            result=result,
            settle_pips=settle_pips,
            expiration_value=expiration_value,
            rules_primary=f"If {title.rstrip('?')}, then the market resolves to Yes.",
            rules_secondary=f"The outcome is determined from {series.source_name} data.",
            early_close_condition="This market will close and expire early if the event occurs.",
            weight=weight,
        )
        next_idx[0] += 1
        ev.markets.append(m)
        return m

    if kind == "crypto":
        x0 = 95_000 + 4_000 * math.sin(day / 9.0) + rng.uniform(-500, 500)
        close = day_us + 21 * HOUR
        ev = mk_event(
            f"KXBTC-{code}17",
            f"Bitcoin price on {date:%b %d, %Y} at 5pm EST?",
            f"{date:%b %d, %Y}",
            True,
            close,
            None,
            close - DAY,
            close,
            x0,
            1_800.0,
        )
        centre = int(round(x0 / 1000.0)) * 1000
        edges = [centre - 2000 + 1000 * i for i in range(5)]  # 4 brackets + 2 tails
        add_market(
            ev,
            f"T{edges[0] - 0.01:.2f}",
            f"Bitcoin below ${edges[0]:,} on {date:%b %d}?",
            f"Below ${edges[0]:,}",
            f"${edges[0]:,} or above",
            "less",
            None,
            float(edges[0]),
            "linear_cent",
            300,
            5 * MINUTE,
            0.6,
        )
        for a, b in zip(edges, edges[1:], strict=False):
            add_market(
                ev,
                f"B{a + 500}",
                f"Bitcoin between ${a:,} and ${b - 0.01:,.2f} on {date:%b %d}?",
                f"${a:,} to {b - 0.01:,.2f}",
                f"Not ${a:,} to {b - 0.01:,.2f}",
                "between",
                float(a),
                b - 0.01,
                "linear_cent",
                300,
                5 * MINUTE,
                1.0,
            )
        add_market(
            ev,
            f"T{edges[-1] - 0.01:.2f}",
            f"Bitcoin above ${edges[-1] - 0.01:,.2f} on {date:%b %d}?",
            f"${edges[-1]:,} or above",
            f"Below ${edges[-1]:,}",
            "greater",
            edges[-1] - 0.01,
            None,
            "linear_cent",
            300,
            5 * MINUTE,
            0.6,
        )
    elif kind == "index":
        if date.weekday() >= 5:
            return out
        x0 = 6_000 + 80 * math.sin(day / 13.0) + rng.uniform(-15, 15)
        close = day_us + 21 * HOUR
        ev = mk_event(
            f"KXINXD-{code}H1600",
            f"S&P 500 close on {date:%b %d, %Y}?",
            f"{date:%b %d, %Y}",
            True,
            close,
            None,
            close - 7 * HOUR - 30 * MINUTE,
            close,
            x0,
            40.0,
        )
        centre = int(round(x0 / 25.0)) * 25
        edges = [centre - 50 + 25 * i for i in range(5)]
        add_market(
            ev,
            f"T{edges[0] - 0.01:.2f}",
            f"S&P 500 below {edges[0]} on {date:%b %d}?",
            f"Below {edges[0]}",
            f"{edges[0]} or above",
            "less",
            None,
            float(edges[0]),
            "linear_cent",
            600,
            10 * MINUTE,
            0.5,
        )
        for a, b in zip(edges[:-2], edges[1:-1], strict=False):
            add_market(
                ev,
                f"B{a + 12}",
                f"S&P 500 between {a} and {b - 0.01:.2f} on {date:%b %d}?",
                f"{a} to {b - 0.01:.2f}",
                f"Not {a} to {b - 0.01:.2f}",
                "between",
                float(a),
                b - 0.01,
                "linear_cent",
                600,
                10 * MINUTE,
                1.0,
            )
        add_market(
            ev,
            f"T{edges[-2] - 0.01:.2f}",
            f"S&P 500 above {edges[-2] - 0.01:.2f} on {date:%b %d}?",
            f"{edges[-2]} or above",
            f"Below {edges[-2]}",
            "greater",
            edges[-2] - 0.01,
            None,
            "linear_cent",
            600,
            10 * MINUTE,
            0.5,
        )
    elif kind == "weather":
        x0 = 52 + 10 * math.sin((day - 20_000) / 58.0) + rng.uniform(-4, 4)
        xT = float(round(rng.gauss(x0, 3.0)))
        close = day_us + DAY + 4 * HOUR + 59 * MINUTE
        ev = mk_event(
            f"KXHIGHNY-{code}",
            f"Highest temperature in NYC on {date:%b %d, %Y}?",
            f"On {date:%b %d, %Y}",
            True,
            day_us + 14 * HOUR,
            None,
            day_us - 10 * HOUR,
            close,
            x0,
            3.0,
            xT=xT,
        )
        lo = int(round(x0)) - 4
        add_market(
            ev,
            f"T{lo}",
            f"Will the high temp in NYC be <{lo}° on {date:%b %d, %Y}?",
            f"{lo - 1}° or below",
            f"{lo}° or above",
            "less",
            None,
            float(lo),
            "linear_cent",
            3600,
            9 * HOUR,
            0.6,
        )
        for i in range(4):
            a = lo + 2 * i
            add_market(
                ev,
                f"B{a + 0.5}",
                f"Will the high temp in NYC be {a}-{a + 1}° on {date:%b %d, %Y}?",
                f"{a}° to {a + 1}°",
                f"Not {a}° to {a + 1}°",
                "between",
                float(a),
                float(a + 1),
                "linear_cent",
                3600,
                9 * HOUR,
                1.0,
            )
        hi = lo + 7
        add_market(
            ev,
            f"T{hi}",
            f"Will the high temp in NYC be >{hi}° on {date:%b %d, %Y}?",
            f"{hi + 1}° or above",
            f"{hi}° or below",
            "greater",
            float(hi),
            None,
            "linear_cent",
            3600,
            9 * HOUR,
            0.6,
        )
    elif kind == "fed":
        if date.weekday() != 2:
            return out
        close = day_us + 19 * HOUR
        x0 = rng.gauss(-8.0, 10.0)
        xT = rng.gauss(x0, 14.0)
        xT = -50.0 if xT < -37.5 else -25.0 if xT < -12.5 else 0.0 if xT < 12.5 else 25.0
        ev = mk_event(
            f"KXFEDDECISION-{code}",
            f"Fed decision on {date:%b %d, %Y}?",
            f"{date:%b %d, %Y}",
            True,
            close,
            None,
            close - 6 * DAY,
            close,
            x0,
            14.0,
            xT=xT,
        )
        add_market(
            ev,
            "C26",
            "Will the Fed cut rates by more than 25bps?",
            "Cut >25bps",
            "Not cut >25bps",
            "less",
            None,
            -37.5,
            "tapered_deci_cent",
            600,
            20 * MINUTE,
            0.5,
        )
        add_market(
            ev,
            "C25",
            "Will the Fed cut rates by 25bps?",
            "Cut 25bps",
            "Not cut 25bps",
            "between",
            -37.5,
            -12.5,
            "tapered_deci_cent",
            600,
            20 * MINUTE,
            1.0,
        )
        add_market(
            ev,
            "H0",
            "Will the Fed hold rates?",
            "Hold",
            "Not hold",
            "between",
            -12.5,
            12.5,
            "tapered_deci_cent",
            600,
            20 * MINUTE,
            1.0,
        )
        add_market(
            ev,
            "H25",
            "Will the Fed hike rates by 25bps or more?",
            "Hike 25bps+",
            "Not hike",
            "greater",
            12.5,
            None,
            "tapered_deci_cent",
            600,
            20 * MINUTE,
            0.5,
        )
    elif kind == "scalar":
        if date.weekday() != 4:
            return out
        close = day_us + 13 * HOUR + 30 * MINUTE
        x0 = rng.uniform(90, 210)
        ev = mk_event(
            f"KXPAYROLLS-{code}",
            f"Nonfarm payrolls reported on {date:%b %d, %Y}?",
            f"{date:%b %d, %Y}",
            False,
            close,
            None,
            close - 5 * DAY,
            close,
            x0,
            45.0,
        )
        add_market(
            ev,
            "S",
            "Nonfarm payrolls (thousands) between 0 and 300",
            "Payrolls (k)",
            "Payrolls (k)",
            "between",
            0.0,
            300.0,
            "linear_cent",
            3600,
            30 * MINUTE,
            1.0,
            market_type="scalar",
        )
    elif kind == "mve":
        close = day_us + 23 * HOUR
        ev = mk_event(
            f"KXMVECROSSCATEGORY-S{code}",
            f"Combo for {date:%b %d, %Y}",
            "",
            False,
            close,
            None,
            close - DAY,
            close,
            0.0,
            1.0,
            xT=-1.0,
            is_mve=True,
        )
        legs = _mve_legs(seed, day)
        collection = f"KXMVECROSSCATEGORY-R{code}"
        ev.collection = {
            "collection_ticker": collection,
            "open_us": ev.open_us,
            "close_us": ev.close_us,
            "event_tickers": sorted({e for e, _ in legs}),
        }
        # combo j takes every other leg: C1 = crypto + weather YES legs; C2 the same with its second leg on NO
        for j in range(2):
            chosen = legs[j::2][:2]
            sides = ["yes", "no" if j == 1 else "yes"]
            m = add_market(
                ev,
                f"C{j + 1}",
                ",".join(f"{sd} {lm.yes_sub_title}" for sd, (_, lm) in zip(sides, chosen, strict=True)),
                ",".join(f"{sd} {lm.yes_sub_title}" for sd, (_, lm) in zip(sides, chosen, strict=True)),
                ",".join(f"{sd} {lm.yes_sub_title}" for sd, (_, lm) in zip(sides, chosen, strict=True)),
                "custom",
                None,
                None,
                "deci_cent",
                5,
                1 * MINUTE,
                0.25,
            )
            m.is_mve = True
            # YES iff every leg resolves to its side; trading stops when the first leg closes, the combo is
            # determined a minute after the last leg is
            won = all(
                (lm.result == "yes") == (sd == "yes") for sd, (_, lm) in zip(sides, chosen, strict=True)
            )
            m.result, m.settle_pips, m.expiration_value = ("yes", 10_000, "") if won else ("no", 0, "")
            m.close_us = min(lm.close_us for _, lm in chosen)
            m.determine_us = max(lm.determine_us for _, lm in chosen) + MINUTE
            m.expected_exp_us = m.determine_us
            m.latest_exp_us = max(lm.latest_exp_us for _, lm in chosen)
            m.settle_us = m.determine_us + m.settlement_timer * 1_000_000 + rng.randrange(1, 1_000_000)
            m.mve = {
                "mve_collection_ticker": collection,
                "mve_selected_legs": [
                    {"event_ticker": e, "market_ticker": lm.ticker, "side": sd}
                    for sd, (e, lm) in zip(sides, chosen, strict=True)
                ],
                "custom_strike": {
                    "Associated Events": ",".join(e for e, _ in chosen),
                    "Associated Market Sides": ",".join(sides),
                    "Associated Markets": ",".join(lm.ticker for _, lm in chosen),
                    "Multivariate Event Ticker": ev.event_ticker,
                },
            }
    return out


def _mve_legs(seed: int, day: int) -> list[tuple[str, MarketDef]]:
    """(event ticker, market) of the day's crypto and weather markets, for the combos' legs (the same
    definitions the exchange builds for that day: each event has its own random stream)."""
    legs = []
    for spec in SERIES_SPECS:
        if spec[-1] in ("crypto", "weather"):
            s = SeriesDef(*spec, 0)
            for ev in events_for_day(seed, s, day, [0]):
                legs += [(ev.event_ticker, m) for m in ev.markets[1:3]]
    return legs


def day_of(us: int) -> int:
    return us // DAY


def default_origin() -> int:
    """The simulated 'now' when a world is built (fixed so the same seed gives the same bytes)."""
    return to_us(dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC))
