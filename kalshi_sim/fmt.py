"""Value formats of the Kalshi API, written out from the exchange's exact integer units.

Internal units (never floats):
- prices: integer *pips* = $0.0001 (a YES price of $0.56 is 5600);
- counts: integer *hundredths* of a contract (``"10.00"`` is 1000);
- money amounts (costs, fees, P&L, balances): integer *micro-dollars* = $0.000001.

Response formats (checked against the recordings in ``../shared/real-data``):
- ``*_dollars`` on markets, trades, orderbooks, candlesticks: 4 dp (``"0.5600"``);
- ``fee_cost`` and the order/position money fields: 6 dp (``"0.017500"``);
- ``*_fp`` counts: 2 dp (``"10.00"``);
- times: RFC3339 UTC with ``Z`` and the fractional seconds trimmed of trailing zeros
  (``"2026-06-11T06:29:30.16495Z"``; no fraction at all on a whole second).
"""

from __future__ import annotations

import datetime as dt
import re

PIPS_PER_DOLLAR = 10_000
MICROS_PER_DOLLAR = 1_000_000
UTC = dt.UTC
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)


def _fixed(value: int, scale: int, places: int) -> str:
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), scale)
    return f"{sign}{whole}.{frac:0{places}d}"


def d4(pips: int) -> str:
    """Price in pips → ``"0.5600"``."""
    return _fixed(pips, PIPS_PER_DOLLAR, 4)


def d6(micros: int) -> str:
    """Money in micro-dollars → ``"0.017500"``."""
    return _fixed(micros, MICROS_PER_DOLLAR, 6)


def d4_from_micros(micros: int) -> str:
    """Money in micro-dollars shown with 4 dp (truncated toward zero, as a balance display)."""
    sign = -1 if micros < 0 else 1
    return _fixed(sign * (abs(micros) // 100), PIPS_PER_DOLLAR, 4)


def fp(hundredths: int) -> str:
    """Count in hundredths → ``"10.00"``."""
    return _fixed(hundredths, 100, 2)


_DAY_CACHE: dict[int, str] = {}


def ts(us: int) -> str:
    """Unix microseconds → RFC3339 with ``Z`` and trimmed fractional seconds."""
    secs, frac = divmod(us, 1_000_000)
    day, sod = divmod(secs, 86_400)
    prefix = _DAY_CACHE.get(day)
    if prefix is None:
        prefix = (_EPOCH + dt.timedelta(days=day)).strftime("%Y-%m-%dT")
        _DAY_CACHE[day] = prefix
    h, rem = divmod(sod, 3600)
    m, s = divmod(rem, 60)
    if frac:
        f = f"{frac:06d}".rstrip("0")
        return f"{prefix}{h:02d}:{m:02d}:{s:02d}.{f}Z"
    return f"{prefix}{h:02d}:{m:02d}:{s:02d}Z"


def to_us(d: dt.datetime) -> int:
    """Aware datetime → Unix microseconds."""
    delta = d - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)


def uuid_from_int(n: int) -> str:
    """128-bit integer → UUID-looking text (Kalshi ids do not keep RFC 4122 version bits)."""
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# ----------------------------------------------------------------------------------------------
# Request parsing (strict: requests accept 0-2 dp counts and up to 6 dp prices, as the spec says)
# ----------------------------------------------------------------------------------------------
_COUNT_RE = re.compile(r"^\d+(\.\d{0,2})?$")
_DOLLARS_RE = re.compile(r"^\d+(\.\d{0,6})?$")


def parse_count(text: object) -> int | None:
    """``"10"``/``"10.5"``/``"10.00"`` → hundredths; None when malformed."""
    if not isinstance(text, str) or not _COUNT_RE.match(text):
        return None
    whole, _, frac = text.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def parse_price(text: object) -> int | None:
    """``"0.56"``/``"0.5600"`` → pips; None when malformed or finer than $0.0001."""
    if not isinstance(text, str) or not _DOLLARS_RE.match(text):
        return None
    whole, _, frac = text.partition(".")
    frac = (frac + "000000")[:6]
    if frac[4:] != "00":
        return None
    return int(whole) * PIPS_PER_DOLLAR + int(frac[:4])
