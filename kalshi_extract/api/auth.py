"""Request signing: RSA-PSS (SHA-256, MGF1-SHA-256, salt = digest length) or Ed25519.

The message is ``timestamp_ms + METHOD + path`` where path runs from the host root and includes
``/trade-api/v2`` but not the query string (Kalshi rejects signatures over the query). The key is loaded once
per source and cached; the key and signatures never appear in logs, reprs or exceptions.

``cryptography`` is imported on first use of a key (about 0.3 s of CPU, most of a keyless pull's start-up).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import stat
import threading
import time
import warnings
from functools import cache

from kalshi_extract.errors import ConfigError
from kalshi_extract.settings import Settings

__all__ = ["Signer", "MISSING_KEY_MESSAGE", "load_private_key"]

_log = logging.getLogger(__name__)

MISSING_KEY_MESSAGE = (
    "this endpoint needs an API key: set KALSHI_API_KEY_ID and KALSHI_PRIVATE_KEY_PATH "
    "(or KALSHI_PRIVATE_KEY with the PEM text)"
)


@cache
def _rsa_pss() -> tuple:
    """``(padding, hash)`` of an RSA-PSS signature, built on first use."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PSS(
        mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH
    ), hashes.SHA256()


_cache: dict[str, object] = {}
_cache_lock = threading.Lock()


def load_private_key(settings: Settings):
    """Load (once per process and source) the private key named by the settings; ConfigError if unusable."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if settings.private_key:
        pem = settings.private_key.encode()
        cache_key = "pem:" + hashlib.sha256(pem).hexdigest()
        origin = "KALSHI_PRIVATE_KEY"
    elif settings.private_key_path:
        path = settings.private_key_path
        cache_key = "path:" + os.path.abspath(path)
        origin = f"KALSHI_PRIVATE_KEY_PATH ({path})"
        pem = None
    else:
        raise ConfigError(MISSING_KEY_MESSAGE)
    with _cache_lock:
        key = _cache.get(cache_key)
        if key is not None:
            return key
        if pem is None:
            pem = _read_key_file(settings.private_key_path)
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except Exception:  # noqa: BLE001 - any parser failure means the same thing to the user
            key = None
        if key is None:
            # raised outside the except block: the parser's exception (which may quote key bytes) is neither
            # chained nor kept as context
            raise ConfigError(f"{origin} is not a readable unencrypted PEM private key (RSA or Ed25519)")
        if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
            raise ConfigError(f"{origin}: only RSA and Ed25519 keys are supported, got {type(key).__name__}")
        _cache[cache_key] = key
        return key


def _read_key_file(path: str) -> bytes:
    try:
        st = os.stat(path)
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ConfigError(f"cannot read KALSHI_PRIVATE_KEY_PATH {path}: {exc.strerror}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"private key file {path} is readable by group/others (mode {stat.S_IMODE(st.st_mode):o}); "
            f"run: chmod 600 {path}",
            stacklevel=4,
        )
    return data


class Signer:
    """Builds the three ``KALSHI-ACCESS-*`` headers for a request. ``repr`` shows the key id and type only."""

    __slots__ = ("key_id", "_key", "_is_rsa", "_prefix")

    def __init__(self, key_id: str, private_key, path_prefix: str = "") -> None:
        if not key_id:
            raise ConfigError(MISSING_KEY_MESSAGE)
        self.key_id = key_id
        self._key = private_key
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._is_rsa = isinstance(private_key, rsa.RSAPrivateKey)
        self._prefix = path_prefix.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> Signer:
        """The signer for the configured key; ConfigError naming both variables if no key is configured."""
        if not settings.has_key:
            raise ConfigError(MISSING_KEY_MESSAGE)
        from urllib.parse import urlsplit

        return cls(settings.api_key_id, load_private_key(settings), urlsplit(settings.base_url).path)

    @property
    def algorithm(self) -> str:
        return "rsa-pss-sha256" if self._is_rsa else "ed25519"

    def sign(self, message: bytes) -> str:
        """Base64 signature of ``message``."""
        if self._is_rsa:
            sig = self._key.sign(message, *_rsa_pss())
        else:
            sig = self._key.sign(message)
        return base64.b64encode(sig).decode("ascii")

    def headers(self, method: str, path: str, timestamp_ms: int | None = None) -> dict[str, str]:
        """Headers for ``method`` on ``path`` (relative to the base URL, e.g. ``/portfolio/balance``; any query
        string is dropped before signing)."""
        ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
        q = path.find("?")
        if q >= 0:
            path = path[:q]
        full = self._prefix + path
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": self.sign((ts + method.upper() + full).encode()),
        }

    def __repr__(self) -> str:
        return f"Signer(key_id={self.key_id!r}, algorithm={self.algorithm!r})"

    __str__ = __repr__

    def __reduce__(self):
        raise TypeError("Signer holds a private key and cannot be pickled; build it from Settings")
