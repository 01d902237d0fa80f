"""Client-side token buckets so concurrent pulls run at, never over, the account's rate limit.

Kalshi meters two buckets per account (notes §5): *read* (GETs) and *write* (order placement, amends, cancels).
A request costs 10 tokens unless the endpoint registry says otherwise. One ``Pacer`` is shared by every client
and thread of a process for the same ``(base_url, key id)`` (``shared_pacer``), and its buckets are shared by
every process of this machine using that key: the bucket's balance lives in a small file
(``<tmp>/kalshi-lake-pacer-<uid>/<hash of base url, key id, side>.bucket``) read and updated under ``flock``, so
three pulls, a scheduled flow and Dask workers on one machine together stay inside one budget. Across machines
nothing is shared: a split stream's planner announces how many machines take part and each paces at that share of
the budget (:meth:`Pacer.share`, :func:`share_of`); otherwise give each machine its own key.

Bucket model: a request *reserves* its tokens immediately (the balance may go negative) and then sleeps until the
debt is repaid by the refill. So the tokens granted by time t never exceed ``capacity + rate·t``, waiters are
served in arrival order, and the lock is never held while sleeping.

Sizing: an explicit ``KALSHI_TIER`` picks a row of ``TIER_LIMITS``; ``unlimited`` disables pacing. Otherwise, when
a key is configured (or the exchange is the local one), the pacer asks ``GET /account/limits`` once and follows
the answer (the key's real tier and buckets); without a key, or when that read fails, the ``basic`` row.
Table tiers refill at 90% of the published rate (the notes' guidance: ≤180 tokens/s on Basic) to absorb clock
and network jitter; discovered limits are followed as given. Expert has no published numbers; it uses Advanced's.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import threading
import time
from dataclasses import dataclass

__all__ = [
    "TokenBucket",
    "MachineTokenBucket",
    "Pacer",
    "TIER_LIMITS",
    "shared_pacer",
    "reset_shared_pacers",
    "BucketSpec",
    "share_of",
]


@dataclass(frozen=True)
class BucketSpec:
    refill_rate: float  # tokens per second
    capacity: float


# tier -> (read, write); write buckets hold two seconds of budget, read buckets one (notes §5)
TIER_LIMITS: dict[str, tuple[BucketSpec, BucketSpec] | None] = {
    "basic": (BucketSpec(200, 200), BucketSpec(100, 200)),
    "advanced": (BucketSpec(300, 300), BucketSpec(300, 600)),
    "expert": (BucketSpec(300, 300), BucketSpec(300, 600)),
    "premier": (BucketSpec(1000, 1000), BucketSpec(1000, 2000)),
    "paragon": (BucketSpec(2000, 2000), BucketSpec(2000, 4000)),
    "prime": (BucketSpec(4000, 4000), BucketSpec(4000, 8000)),
    "prestige": (BucketSpec(12000, 12000), BucketSpec(9600, 19200)),
    "unlimited": None,
}
TABLE_HEADROOM = 0.9


class TokenBucket:
    """Thread-safe token bucket with reservation (see module docstring)."""

    __slots__ = ("rate", "capacity", "_tokens", "_stamp", "_lock", "_clock", "_sleep", "granted", "waited")

    def __init__(self, rate: float, capacity: float, *, clock=time.monotonic, sleep=time.sleep) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("token bucket rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(capacity)
        self._stamp = clock()
        self._lock = threading.Lock()
        self.granted = 0  # tokens handed out so far
        self.waited = 0.0  # seconds callers spent waiting

    def reserve(self, cost: float) -> float:
        """Take ``cost`` tokens now; return how many seconds the caller must wait before sending."""
        with self._lock:
            now = self._clock()
            tokens = self._tokens + (now - self._stamp) * self.rate
            if tokens > self.capacity:
                tokens = self.capacity
            tokens -= cost
            self._tokens = tokens
            self._stamp = now
            self.granted += cost
            wait = -tokens / self.rate if tokens < 0 else 0.0
            self.waited += wait
            return wait

    def acquire(self, cost: float) -> None:
        """Block until ``cost`` tokens are ours."""
        wait = self.reserve(cost)
        if wait > 0:
            self._sleep(wait)

    def balance(self) -> float:
        """Tokens in the bucket now (negative: debt that waiting callers are repaying)."""
        with self._lock:
            return min(self.capacity, self._tokens + (self._clock() - self._stamp) * self.rate)

    def drain(self) -> None:
        """Empty the bucket (after a 429: the server's bucket is empty, so ours should be too)."""
        with self._lock:
            now = self._clock()
            tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._tokens = min(tokens, 0.0)
            self._stamp = now

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.rate:g}/s, capacity={self.capacity:g})"


class MachineTokenBucket(TokenBucket):
    """A :class:`TokenBucket` whose balance is shared by every process on this machine (see the module docstring).

    The file holds two doubles, ``tokens`` and ``stamp`` (wall-clock seconds: the one clock all processes share;
    a clock stepping back refills nothing, one stepping forward refills at most ``capacity``). A missing or
    unreadable file is a full bucket. Falls back to the in-process bucket where ``flock`` does not exist.
    """

    __slots__ = ("path",)
    _FORMAT = struct.Struct("<dd")

    def __init__(self, rate: float, capacity: float, path: str, *, clock=time.time, sleep=time.sleep) -> None:
        super().__init__(rate, capacity, clock=clock, sleep=sleep)
        self.path = path
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)

    def _update(self, change) -> float:
        import fcntl

        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                raw = os.pread(fd, self._FORMAT.size, 0)
                now = self._clock()
                if len(raw) == self._FORMAT.size:
                    tokens, stamp = self._FORMAT.unpack(raw)
                    tokens = min(self.capacity, tokens + max(0.0, now - stamp) * self.rate)
                    stamp = max(now, stamp)
                else:
                    tokens, stamp = self.capacity, now
                tokens, result = change(tokens)
                os.pwrite(fd, self._FORMAT.pack(tokens, stamp), 0)
                return result
            finally:
                os.close(fd)  # closing releases the flock

    def reserve(self, cost: float) -> float:
        def take(tokens: float) -> tuple[float, float]:
            tokens -= cost
            return tokens, (-tokens / self.rate if tokens < 0 else 0.0)

        wait = self._update(take)
        self.granted += cost
        self.waited += wait
        return wait

    def balance(self) -> float:
        return self._update(lambda tokens: (tokens, tokens))

    def drain(self) -> None:
        self._update(lambda tokens: (min(tokens, 0.0), 0.0))


def _machine_bucket(spec_rate: float, capacity: float, base_url: str, key_id: str, side: str) -> TokenBucket:
    try:
        import fcntl  # noqa: F401  (POSIX only)
    except ImportError:
        return TokenBucket(spec_rate, capacity)
    digest = hashlib.sha256(f"{base_url}|{key_id}|{side}".encode()).hexdigest()[:24]
    folder = os.path.join(tempfile.gettempdir(), f"kalshi-lake-pacer-{os.getuid()}")
    return MachineTokenBucket(spec_rate, capacity, os.path.join(folder, f"{digest}.bucket"))


class Pacer:
    """Read and write buckets for one account; ``Pacer(None, None)`` (tier unlimited) never waits."""

    __slots__ = ("read", "write", "tier", "source")

    def __init__(
        self, read: TokenBucket | None, write: TokenBucket | None, tier: str = "", source: str = ""
    ) -> None:
        self.read = read
        self.write = write
        self.tier = tier
        self.source = source

    @classmethod
    def for_tier(cls, tier: str, machine: tuple[str, str] | None = None) -> Pacer:
        """The tier table's buckets; ``machine=(base_url, key_id)`` shares them with this machine's processes."""
        spec = TIER_LIMITS[tier]
        if spec is None:
            return cls(None, None, tier, "tier")
        r, w = spec
        return cls(
            _bucket(r.refill_rate * TABLE_HEADROOM, r.capacity, machine, "read"),
            _bucket(w.refill_rate * TABLE_HEADROOM, w.capacity, machine, "write"),
            tier,
            "tier",
        )

    @classmethod
    def from_limits(cls, limits: dict, machine: tuple[str, str] | None = None) -> Pacer:
        """Build from a ``GET /account/limits`` body (``usage_tier``, ``read``/``write`` refill_rate+capacity)."""
        tier = str(limits.get("usage_tier") or "")
        if tier == "unlimited":
            return cls(None, None, tier, "account/limits")
        buckets = []
        for side in ("read", "write"):
            spec = limits.get(side)
            if not isinstance(spec, dict):
                raise ValueError(f"/account/limits has no {side!r} bucket")
            buckets.append(_bucket(float(spec["refill_rate"]), float(spec["bucket_capacity"]), machine, side))
        return cls(buckets[0], buckets[1], tier, "account/limits")

    @property
    def unlimited(self) -> bool:
        return self.read is None

    def share(self, parts: int) -> Pacer:
        """This budget divided among ``parts`` machines: buckets at ``1/parts`` of the rate and capacity (a machine's
        processes share theirs in a bucket file of its own). ``parts`` ≤ 1 or an unlimited pacer: ``self``."""
        if parts <= 1 or self.unlimited:
            return self
        return Pacer(
            _divided(self.read, parts),
            _divided(self.write, parts),
            self.tier,
            f"{self.source}, 1/{parts} share",
        )

    def acquire(self, write: bool, cost: int) -> None:
        bucket = self.write if write else self.read
        if bucket is not None:
            bucket.acquire(cost)

    def throttled(self, write: bool) -> None:
        bucket = self.write if write else self.read
        if bucket is not None:
            bucket.drain()

    def __repr__(self) -> str:
        if self.unlimited:
            return f"Pacer(tier={self.tier!r}, unlimited, from {self.source})"
        return f"Pacer(tier={self.tier!r}, read={self.read!r}, write={self.write!r}, from {self.source})"


def _bucket(rate: float, capacity: float, machine: tuple[str, str] | None, side: str) -> TokenBucket:
    if machine is None:
        return TokenBucket(rate, capacity)
    return _machine_bucket(rate, capacity, machine[0], machine[1], side)


def _divided(bucket: TokenBucket | None, parts: int) -> TokenBucket | None:
    if bucket is None:
        return None
    if isinstance(bucket, MachineTokenBucket):
        return MachineTokenBucket(bucket.rate / parts, bucket.capacity / parts, f"{bucket.path}.share{parts}")
    return TokenBucket(bucket.rate / parts, bucket.capacity / parts)


_shares: dict[tuple[int, int], Pacer] = {}


def share_of(pacer: Pacer, parts: int) -> Pacer:
    """The process-wide :meth:`Pacer.share` of ``pacer`` (every client of this process with that share paces
    together)."""
    with _shared_lock:
        key = (id(pacer), int(parts))
        if key not in _shares:
            _shares[key] = pacer.share(parts)
        return _shares[key]


_shared: dict[tuple[str, str], Pacer] = {}
_building: dict[tuple[str, str], threading.Lock] = {}
_shared_lock = threading.Lock()


def shared_pacer(base_url: str, key_id: str | None, build) -> Pacer:
    """The process-wide pacer for ``(base_url, key_id)``; ``build()`` makes it the first time (under a lock per
    key, so a discovery request happens once and other accounts/hosts are not held up meanwhile)."""
    key = (base_url, key_id or "")
    pacer = _shared.get(key)
    if pacer is not None:
        return pacer
    with _shared_lock:
        lock = _building.setdefault(key, threading.Lock())
    with lock:
        pacer = _shared.get(key)
        if pacer is None:
            pacer = build()
            with _shared_lock:
                _shared[key] = pacer
        return pacer


def reset_shared_pacers() -> None:
    """Forget every shared pacer (tests; or after the account's tier changed)."""
    with _shared_lock:
        _shared.clear()
        _building.clear()
        _shares.clear()
