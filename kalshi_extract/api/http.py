"""HTTP layer: one pooled ``requests.Session``, signing, pacing, typed errors and the one retry decision.

``HttpClient.request`` is the only place a request is sent. Retries (``_retry_delay``) happen only for GETs, on
transport errors (refused/reset/timeout/truncated or malformed JSON), 429 and 5xx, with capped exponential
backoff and full jitter, honouring ``Retry-After`` when the server sends it (Kalshi usually does not). POST and
DELETE are never re-sent: the typed error is raised and the order module resolves the outcome itself.

Every result is a :class:`Reply`: the ``(body, parsed)`` pair plus ``server_time``, the server's clock from the
``Date`` response header (RFC 7231, whole seconds; None when absent or malformed). The lake stamps snapshots with
it, so observations carry the exchange's time, not this machine's.

Per-request overhead is kept small: cached route lookup, no log formatting unless DEBUG is on, one orjson parse,
no copies of the body.
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson
import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

from kalshi_extract.api.auth import MISSING_KEY_MESSAGE, Signer
from kalshi_extract.api.endpoints import request_cost, route
from kalshi_extract.api.pacer import Pacer
from kalshi_extract.errors import (
    ConfigError,
    KalshiApiError,
    RateLimitError,
    ServerError,
    TransportError,
    api_error_for_status,
)

__all__ = ["HttpClient", "ClientStats", "StatsSnapshot", "RetryPolicy", "Reply", "parse_http_date"]

_log = logging.getLogger(__name__)
_NO_PACING = Pacer(None, None, "unlimited", "none")
_USER_AGENT = "kalshi-lake/0.1 (+python-requests)"


@dataclass(frozen=True)
class StatsSnapshot:
    requests: int
    retries: int
    throttled_429: int
    bytes: int
    errors: int


class ClientStats:
    """Thread-safe request counters: ``requests`` (sent, incl. retries), ``retries``, ``throttled_429``,
    ``bytes`` (response bodies), ``errors`` (error responses and transport failures)."""

    __slots__ = ("requests", "retries", "throttled_429", "bytes", "errors", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = self.retries = self.throttled_429 = self.bytes = self.errors = 0

    def _add(self, requests: int = 0, retries: int = 0, throttled: int = 0, nbytes: int = 0, errors: int = 0):
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.throttled_429 += throttled
            self.bytes += nbytes
            self.errors += errors

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(self.requests, self.retries, self.throttled_429, self.bytes, self.errors)

    def __repr__(self) -> str:
        s = self.snapshot()
        return (
            f"ClientStats(requests={s.requests}, retries={s.retries}, throttled_429={s.throttled_429}, "
            f"bytes={s.bytes}, errors={s.errors})"
        )


@dataclass(frozen=True)
class RetryPolicy:
    """GET retry budget: ``max_retries`` extra attempts, delay ``uniform(0, min(cap, base·2^n))``; a
    ``Retry-After`` header wins (capped at ``retry_after_cap``)."""

    max_retries: int = 6
    backoff_base: float = 0.25
    backoff_cap: float = 20.0
    retry_after_cap: float = 60.0


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None when absent or malformed."""
    if not value or not isinstance(value, str):
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


class Reply(tuple):
    """``(body, parsed)`` of one response, plus ``server_time`` (the response's ``Date``; None if unusable)."""

    server_time: datetime | None

    def __new__(cls, body: bytes, parsed: Any, server_time: datetime | None = None) -> Reply:
        self = super().__new__(cls, (body, parsed))
        self.server_time = server_time
        return self


_UNSAFE_SEGMENTS = frozenset({".", "..", "%2e", "%2e%2e", ".%2e", "%2e."})


def check_path(path: str) -> None:
    """Refuse a request path that could leave the endpoint it names: a query or fragment (``?``, ``#``), white
    space, or a dot segment (``..``, also percent-encoded). Paths are templates whose user-given segments the
    caller percent-encodes (``urllib.parse.quote(value, safe="")``); this is the last line of defence."""
    if not path.startswith("/") or any(c in path for c in "?# \t\r\n"):
        raise ValueError(f"refusing to request {path!r}: a path must start with / and hold no ?, # or spaces")
    if any(seg.lower() in _UNSAFE_SEGMENTS for seg in path.split("/")):
        raise ValueError(f"refusing to request {path!r}: a path segment may not be . or ..")


def _decimal_as_text(obj: Any) -> Any:
    """orjson ``default`` for request bodies: a ``Decimal`` (a price or count) is sent as its fixed-point text."""
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"cannot send {type(obj).__name__} as JSON")


def _clean_params(params: dict | None) -> dict | None:
    if not params:
        return None
    out = {}
    for k, v in params.items():
        if v is None:
            continue
        if v is True or v is False:
            v = "true" if v else "false"  # requests would send "True"
        elif isinstance(v, float):
            raise TypeError(f"query parameter {k}={v!r} is a float; pass a string or int")
        out[k] = v
    return out


class HttpClient:
    """Sends requests to one base URL. Not for direct use: ``KalshiClient`` wraps it."""

    def __init__(
        self,
        base_url: str,
        *,
        signer_factory=None,
        pacer: Pacer | None = None,
        pacer_factory=None,
        stats: ClientStats | None = None,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        pool_size: int = 16,
        session: requests.Session | None = None,
        sleep=time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._signer_factory = signer_factory
        self._signer: Signer | None = None
        self._signer_lock = threading.Lock()
        # the pacer is resolved on the first request (a loopback exchange may have to be asked for its limits)
        self._pacer = pacer
        self._pacer_factory = pacer_factory
        self._pacer_lock = threading.Lock()
        self.stats = stats or ClientStats()
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._answered = False  # has the server answered any request yet (any status)?
        self._clock_offset: float | None = None  # server clock - this machine's, seconds (see exchange_now)
        self._own_session = session is None
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 4), max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
        session.headers.update({"User-Agent": _USER_AGENT, "Accept": "application/json"})
        self._adapter = session.get_adapter(self.base_url)
        if session.trust_env:
            # resolve proxy / CA-bundle environment once: requests would re-read os.environ on every request
            # (~0.3 ms each); afterwards only the values resolved here apply
            # (values set on a caller's session win over the environment, unlike plain requests)
            env = session.merge_environment_settings(self.base_url, {}, None, None, None)
            for scheme, proxy in (env.get("proxies") or {}).items():
                session.proxies.setdefault(scheme, proxy)
            if session.verify is True and env.get("verify") not in (None, True):
                session.verify = env["verify"]
            session.trust_env = False
        self.session = session
        self._base_headers = dict(session.headers)

    @property
    def pacer(self) -> Pacer:
        """The pacer, resolved once (via ``pacer_factory``) on first use; no factory means no pacing."""
        if self._pacer is None:
            with self._pacer_lock:
                if self._pacer is None:
                    factory = self._pacer_factory
                    self._pacer = factory() if factory is not None else _NO_PACING
        return self._pacer

    @pacer.setter
    def pacer(self, value: Pacer) -> None:
        self._pacer = value

    @property
    def answered(self) -> bool:
        """Has the server answered any request of this client yet (any status)? Until it has, a refused or
        unresolvable connection is a wrong address or a server not started (see ``_retry_delay``)."""
        return self._answered

    def _note_server_time(self, when: datetime) -> None:
        # ``Date`` is whole seconds, cut down: server time >= Date, so Date - now is a lower bound of the offset and
        # the largest one seen is the best; keeping the largest also keeps exchange_now() from running backwards
        # (a local exchange's clock only moves forward). Unlocked: a lost update costs at most one sample.
        offset = when.timestamp() - time.time()
        if self._clock_offset is None or offset > self._clock_offset:
            self._clock_offset = offset

    def exchange_now(self) -> datetime | None:
        """The exchange's clock now, estimated from the ``Date`` headers of its answers so far (within a second
        of it; the local exchange's simulated clock may be days or years from this machine's). None until the
        server has answered with a usable ``Date``."""
        offset = self._clock_offset
        if offset is None:
            return None
        return datetime.fromtimestamp(time.time() + offset, UTC)

    # --- signing -----------------------------------------------------------------------------------------------
    @property
    def has_key(self) -> bool:
        return self._signer_factory is not None

    def signer(self) -> Signer:
        """The signer, built (key loaded) once on first use; ConfigError if no key is configured."""
        if self._signer is None:
            if self._signer_factory is None:
                raise ConfigError(MISSING_KEY_MESSAGE)
            with self._signer_lock:
                if self._signer is None:
                    self._signer = self._signer_factory()
        return self._signer

    def _usable_key(self) -> bool:
        """A key is configured and loads. An unusable one is the private endpoints' error (raised there, once per
        request); public endpoints that merely accept a signature go unsigned instead of failing."""
        if self._signer_factory is None:
            return False
        try:
            self.signer()
        except ConfigError:
            return False
        return True

    # --- the request loop --------------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        params: dict | None = None,
        json_body: Any = None,
        *,
        parse: bool = True,
        auth: str | None = None,
        retry: RetryPolicy | None = None,
        pace: bool = True,
    ) -> Reply:
        """Send ``method path`` and return ``(body, parsed)`` (a :class:`Reply`, also ``.server_time``); ``parsed``
        is None for an empty body or when ``parse`` is False. GETs are retried per ``RetryPolicy``; other methods are sent exactly once.
        With ``parse=False`` a GET's body is not checked to be JSON here (the caller parses it, and fetches it again
        with ``parse=True`` when it does not parse: see the paginator's column-wise decoding)."""
        method = method.upper()
        check_path(path)
        r = route(method, path)
        need = auth or r.auth
        if need == "required":
            sign = True
            if self._signer_factory is None:
                raise ConfigError(f"{method} {path}: {MISSING_KEY_MESSAGE}")
        else:  # "optional": sign when a usable key exists (orderbook, unknown paths); "none": never (saves CPU)
            sign = need == "optional" and self._usable_key()
        cost = request_cost(r, json_body)
        data = None if json_body is None else orjson.dumps(json_body, default=_decimal_as_text)
        params = _clean_params(params)
        retryable = method == "GET"
        policy = retry or self.retry
        pacer = self.pacer if pace else _NO_PACING
        attempt = 0
        while True:
            pacer.acquire(r.write, cost)
            try:
                return self._send_once(method, path, params, data, sign, parse)
            except (TransportError, RateLimitError, ServerError) as exc:
                if isinstance(exc, RateLimitError):
                    pacer.throttled(r.write)
                delay = self._retry_delay(policy, retryable, attempt, exc, self._answered)
                if delay is None:
                    raise
                attempt += 1
                self.stats._add(retries=1)
                _log.info("retrying %s %s in %.2fs after: %s", method, path, delay, exc)
                self._sleep(delay)

    @staticmethod
    def _retry_delay(
        policy: RetryPolicy, retryable: bool, attempt: int, exc: Exception, answered: bool = True
    ) -> float | None:
        """THE retry decision. Returns seconds to wait before the next attempt, or None to give up.

        - Only idempotent reads (GET) are retried. A POST/DELETE may have reached the exchange even when we saw
          an error, so re-sending could place an order twice; the caller resolves the outcome instead.
        - Retried failures: transport errors (refused, reset, timeout, truncated/malformed body), 429, 5xx.
          Other 4xx are the request's fault and are never retried.
        - Except a host that cannot be reached (refused, unresolvable, connect timeout) before it ever
          answered (``answered`` False): that is a wrong address or a server not started, which waiting does
          not heal; the error says so at once. Once the server has answered, the same failure is a restart or a
          blip mid-run and is retried like any other.
        - Delay: ``Retry-After`` seconds if the server sent one (capped); else full jitter
          ``uniform(0, min(cap, base·2^attempt))`` so parallel workers do not retry in lockstep. After a 429 the
          pacer's bucket has also been drained, so the next send waits for the refill on top of this delay.
        """
        if not retryable or attempt >= policy.max_retries:
            return None
        if not answered and isinstance(exc, TransportError) and not exc.maybe_sent:
            return None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(max(retry_after, 0.0), policy.retry_after_cap)
        return random.uniform(0.0, min(policy.backoff_cap, policy.backoff_base * (2**attempt)))

    def _send_once(self, method, path, params, data, sign, parse) -> Reply:
        # Build the PreparedRequest directly and hand it to the session's adapter (pool): Session.request would
        # merge environment, cookies, hooks and redirects on every call (~0.1 ms) for nothing Kalshi uses.
        headers = CaseInsensitiveDict(self._base_headers)
        if sign:
            headers.update(self.signer().headers(method, path))
        if data is not None:
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(data))
        url = self.base_url + path
        if params:
            url += "?" + urlencode(params, doseq=True)
        prep = requests.PreparedRequest()
        prep.method, prep.url, prep.headers, prep.body = method, url, headers, data
        prep.hooks = {"response": []}
        prep._cookies = None
        s = self.session
        try:
            resp = self._adapter.send(
                prep, stream=True, timeout=self.timeout, verify=s.verify, cert=s.cert, proxies=s.proxies
            )
            # one read of the whole body (Response.content would loop over 10 kB chunks); urllib3 enforces
            # Content-Length (short body -> ProtocolError) and returns the connection to the pool when done
            body = resp.raw.read(decode_content=True)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            self.stats._add(requests=1, errors=1)
            raise _transport_error(exc, method, path) from None
        finally:
            if "resp" in locals() and not resp.raw.closed and resp.raw.length_remaining:
                resp.close()  # unread rest (error path): drop the connection rather than reuse a dirty one
        self._answered = True
        when = parse_http_date(resp.headers.get("Date"))
        if when is not None:
            self._note_server_time(when)
        status = resp.status_code
        if status >= 300 or status < 200:  # redirects are not followed: the base URL is wrong
            self.stats._add(requests=1, nbytes=len(body), errors=1, throttled=1 if status == 429 else 0)
            raise _api_error(status, body, resp, method, path)
        self.stats._add(requests=1, nbytes=len(body))
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("%s %s -> %d (%d bytes)", method, path, status, len(body))
        if not body:
            if method == "GET" and status != 204:  # every read answers a JSON object; empty = cut short
                self.stats._add(errors=1)
                raise TransportError("empty response body", method=method, path=path)
            return Reply(body, None, when)
        if not parse:
            return Reply(body, None, when)
        try:
            return Reply(body, orjson.loads(body), when)
        except orjson.JSONDecodeError as exc:
            self.stats._add(errors=1)
            raise TransportError(
                f"malformed or truncated JSON body ({len(body)} bytes): {exc}", method=method, path=path
            ) from None

    def close(self) -> None:
        if self._own_session:
            self.session.close()


def _transport_error(exc: Exception, method: str, path: str) -> TransportError:
    maybe_sent = True
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        maybe_sent = False
    elif isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if reason is not None and type(reason).__name__ in ("NewConnectionError", "NameResolutionError"):
            maybe_sent = False  # refused / unresolvable: nothing left this machine
    if not maybe_sent:  # the user's next step is about the address, not about urllib3's retry wrapper
        where = _netloc(exc)
        why = "timed out" if isinstance(exc, requests.exceptions.ConnectTimeout) else _errno_text(exc)
        return TransportError(
            f"cannot connect to {where} ({why}); is it reachable, and are KALSHI_ENV / KALSHI_API_URL right?",
            method=method,
            path=path,
            maybe_sent=False,
        )
    kind = type(exc).__name__
    # str(exc) of requests exceptions holds the URL (with query) but no headers; keep it short
    text = str(exc)
    if len(text) > 300:
        text = text[:300] + "…"
    return TransportError(f"{kind}: {text}", method=method, path=path, maybe_sent=maybe_sent)


def _netloc(exc: Exception) -> str:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    return urlsplit(url).netloc if url else "the server"


def _errno_text(exc: Exception) -> str:
    """``[Errno 111] Connection refused`` inside urllib3's wrapper text → ``Connection refused``."""
    m = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    return m.group(1).strip() if m else type(exc).__name__


def _api_error(status: int, body: bytes, resp: requests.Response, method: str, path: str) -> KalshiApiError:
    code = details = None
    message = ""
    try:
        payload = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        payload = None
    if isinstance(payload, dict):
        inner = payload.get("error")
        if isinstance(inner, dict):  # {"error": {"code": ..., "message": ...}}
            payload = inner
            inner = None
        code = payload.get("code")
        message = payload.get("message") or (inner if isinstance(inner, str) else "") or ""
        details = payload.get("details")
        code = None if code is None else str(code)
        details = None if details in (None, "") else str(details)
        message = str(message)
    elif body:
        message = body[:200].decode("utf-8", "replace")
    if not message:
        message = resp.reason or ""
    cls = api_error_for_status(status)
    err = cls(message[:500], status=status, code=code, details=details, method=method, path=path)
    if status == 429 or status >= 500:
        err.retry_after = _parse_retry_after(resp.headers.get("Retry-After"))
    return err


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return float(int(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
