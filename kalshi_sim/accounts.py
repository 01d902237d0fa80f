"""Accounts of the local exchange: keys, signature checks, cash, positions and fees.

Accounting follows docs/CONTRACTS.md exactly (units: hundredths of a contract, pips = $0.0001, money in
micro-dollars):
- a fill is a signed YES-equivalent trade: bid = +count at the YES price, ask = −count at the YES price;
  YES and NO net within a market and opposite lots are closed FIFO (a closed YES+NO pair is redeemed for
  $1 at once, so cash follows the position);
- realized P&L is FIFO over YES-equivalent lots before fees; settlement closes the open lots at the
  settlement value; exposure is the cost basis of the open lots (a short YES lot of c at p costs c·(1−p));
- subaccounts (1–63, created on request) each hold their own cash and positions; an order, its fills and a
  settlement belong to the order's subaccount; transfers move cash between them (:mod:`kalshi_sim.subaccounts`);
- fees: trade fee ``ceil_$0.000001(0.07 × fee_multiplier × C × P × (1−P))`` per taker fill; makers pay
  0.0175 × … only on ``quadratic_with_maker_fees`` series (0.035 on the combo variant); ``flat`` uses the
  taker curve too. The spec says ``flat`` "is described by the Specific Trading Fees Table", whose numbers are in
  Kalshi's fee schedule PDF only; neither that nor any documentation page we could read gives them (the docs give
  the general 0.07 / 0.0175 formulas and the fee rounding rules), so no other coefficient can be modelled
  faithfully. The client's fee estimate (``kalshi_extract.orders.translate``) and the backtester make the same
  assumption, so the three agree; P&L always uses the exchange's ``fee_cost``;
- fee rounding (:func:`kalshi_sim.fees.round_fill`): the trade fee plus a rounding fee that keeps the balance on
  the member's grid ($0.0001 direct — the default —, $0.01 non-direct: ``Account.direct_member``), minus rebates
  from the order's accumulator (``Account.fee_accumulators``, per order id); a fill's ``fee_cost`` is the net fee;
- settlement: the payout is rounded down to the whole cent (docs "Market Settlement": "The actual payout
  (``CollateralAmountChange``) is rounded to whole cents. ``CollateralAmountChange + MiscFeeAmt`` equals the
  pre-rounding settlement value"); the settlement's ``revenue`` is that payout. Decision where the docs are
  silent: the remainder (the settlement fee) is not added to the settlement's ``fee_cost``, which stays the
  fills' fees (the REST name of ``MiscFeeAmt`` is not documented); it shows as ``revenue`` below count × value.
"""

from __future__ import annotations

import base64
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from kalshi_sim.fees import DIRECT_PRECISION, NON_DIRECT_PRECISION

TIMESTAMP_WINDOW_MS = 30_000  # accept signatures whose timestamp is within ±30 s of the wall clock


def trade_fee(fee_type: str, multiplier: Fraction, count: int, price: int, taker: bool) -> int:
    """Trade fee in micro-dollars, rounded up to $0.000001 (the fee model's part of a fill's fee; the rounding
    fee and rebate come on top, :func:`kalshi_sim.fees.round_fill`)."""
    if taker:
        coef = Fraction(7, 100)
    elif fee_type == "quadratic_with_maker_fees":
        coef = Fraction(175, 10_000)
    elif fee_type == "quadratic_with_combo_maker_fees":
        coef = Fraction(35, 1_000)
    else:
        return 0
    micros = coef * multiplier * count * price * (10_000 - price) / 10_000  # count/100 · p/1e4 · … · 1e6
    return -(-micros.numerator // micros.denominator)  # ceil to 1 µ$ = $0.000001


@dataclass
class Position:
    """One account's position in one market."""

    lots: deque = field(default_factory=deque)  # [signed count, price] FIFO, all lots share one sign
    realized: int = 0
    fees: int = 0
    traded: int = 0
    volume: int = 0  # contracts traded (hundredths)
    last_updated_us: int = 0
    settled: bool = False

    @property
    def net(self) -> int:
        return sum(c for c, _ in self.lots)

    def exposure(self) -> int:
        return sum(c * p if c > 0 else -c * (10_000 - p) for c, p in self.lots)

    def apply_fill(self, side: str, n: int, p: int) -> int:
        """Book a fill; returns the cash movement in micro-dollars before fees."""
        if side == "bid":
            cash = -n * p
            self.traded += n * p
            want_sign = 1
        else:
            cash = -n * (10_000 - p)
            self.traded += n * (10_000 - p)
            want_sign = -1
        self.volume += n
        left = n
        while left and self.lots and (self.lots[0][0] > 0) != (want_sign > 0):
            lot = self.lots[0]
            x = min(left, abs(lot[0]))
            if want_sign > 0:  # buying YES closes short lots opened at lot[1]
                self.realized += x * (lot[1] - p)
                lot[0] += x
            else:  # selling YES closes long lots
                self.realized += x * (p - lot[1])
                lot[0] -= x
            cash += x * 10_000
            left -= x
            if lot[0] == 0:
                self.lots.popleft()
        if left:
            self.lots.append([want_sign * left, p])
        return cash

    def settle(self, value: int) -> tuple[int, int, int, int, int]:
        """Close all lots at the YES value; returns (payout, yes_count, yes_cost, no_count, no_cost)."""
        payout = yes_c = yes_cost = no_c = no_cost = 0
        for c, p in self.lots:
            if c > 0:
                payout += c * value
                self.realized += c * (value - p)
                yes_c += c
                yes_cost += c * p
            else:
                payout += -c * (10_000 - value)
                self.realized += -c * (p - value)
                no_c += -c
                no_cost += -c * (10_000 - p)
        self.lots.clear()
        self.settled = True
        return payout, yes_c, yes_cost, no_c, no_cost


@dataclass
class Ledger:
    """The cash and positions of one numbered subaccount (1–63); subaccount 0 is the :class:`Account` itself."""

    balance: int = 0  # micro-dollars
    positions: dict[int, Position] = field(default_factory=dict)
    updated_us: int = 0
    created_us: int = 0


MAX_SUBACCOUNT = 63  # "Maximum 63 numbered subaccounts per user (64 including the primary account)"


@dataclass
class Account:
    key_id: str
    user_id: str
    public_key: object
    balance: int  # micro-dollars
    created_us: int
    positions: dict[int, Position] = field(default_factory=dict)
    orders: list = field(default_factory=list)  # Order objects, creation order
    fills: list[dict] = field(default_factory=list)  # creation order; dict with internal keys
    settlements: list[dict] = field(default_factory=list)
    client_ids: dict[str, str] = field(default_factory=dict)  # client_order_id → order_id
    cash_flows: list = field(default_factory=list)  # kalshi_sim.cash.CashFlow, creation order
    updated_us: int = 0
    subaccounts: dict[int, Ledger] = field(default_factory=dict)  # numbered subaccounts 1..63
    transfers: list[dict] = field(default_factory=list)  # subaccount transfers, creation order
    netting: dict[int, bool] = field(default_factory=dict)  # subaccount → netting enabled (unset = enabled)
    direct_member: bool = True  # balance grid $0.0001 (direct) or $0.01 (non-direct, FCM-cleared)
    fee_accumulators: dict[str, int] = field(default_factory=dict)  # order id → rounding overpaid (µ$)

    @property
    def balance_precision(self) -> int:
        """The member's balance grid in micro-dollars (docs "Fee Rounding")."""
        return DIRECT_PRECISION if self.direct_member else NON_DIRECT_PRECISION

    def ledger(self, n: int | None):
        """Subaccount ``n``'s cash and positions (``balance``, ``positions``, ``updated_us``): 0/None = the
        account itself, 1–63 a created subaccount; KeyError for one not created."""
        if not n:
            return self
        return self.subaccounts[n]

    def ledgers(self):
        """``(number, ledger)`` of every subaccount, the primary (0) first."""
        yield 0, self
        yield from sorted(self.subaccounts.items())


def new_key_pair() -> tuple[str, object]:
    """A fresh RSA-2048 key; returns (PKCS#8 private PEM text, public key object)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return pem, key.public_key()


def load_public_key(pem: str) -> object:
    return serialization.load_pem_public_key(pem.encode())


def verify_signature(public_key, timestamp: str, method: str, path: str, signature_b64: str) -> str | None:
    """Check Kalshi's request signature; returns None when valid, else a reason (never the signature)."""
    try:
        ts_ms = int(timestamp)
    except (TypeError, ValueError):
        return "KALSHI-ACCESS-TIMESTAMP must be milliseconds since the epoch"
    if abs(time.time() * 1000 - ts_ms) > TIMESTAMP_WINDOW_MS:
        return "request timestamp is outside the allowed window"
    try:
        sig = base64.b64decode(signature_b64, validate=True)
    except (ValueError, TypeError):
        return "signature is not valid base64"
    message = (timestamp + method.upper() + path).encode()
    try:
        if isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(sig, message)
        else:
            public_key.verify(
                sig,
                message,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
                hashes.SHA256(),
            )
    except InvalidSignature:
        return "signature does not match the request"
    return None
