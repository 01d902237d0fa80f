"""The one exception tree of kalshi-lake. Callers catch types; messages are for humans and say what to do next.

```
KalshiLakeError                     .retriable: can the same call succeed later, unchanged? (default yes)
├── ConfigError            no   bad/unknown setting; missing key for a private endpoint (names the two variables)
├── KalshiApiError              .status .code .message .details .method .path (never a signature or key)
│   ├── BadRequestError    no       400
│   ├── AuthenticationError no      401 / 403
│   ├── NotFoundError      no       404
│   ├── ConflictError      no       409
│   ├── RateLimitError              429
│   ├── ServerError                 5xx
│   └── WebSocketError     no       an error frame: .code (Kalshi's number) .command; codes 1/17/18/25 retriable
├── TransportError              connection refused/reset, timeout, truncated or malformed body (.maybe_sent)
├── PaginationError        no   repeated cursor, malformed page
├── LakeError
│   ├── LakeLockedError             the lake lock is held by another run
│   ├── LakeStateError     no       corrupt state file
│   └── ConversionError    no       a value cannot be stored exactly in its column (kalshi_extract.lake.convert)
├── PullFailed                  streams of a pull failed; .results has every stream's outcome
│   └── StreamFailed                one stream failed; .result is its StreamResult, .retriable its verdict
├── OrderError
│   ├── OrderValidationError no     bad input, nothing was sent
│   ├── ClientOrderIdConflict no    the client_order_id already names an order with other terms; not placed
│   └── OrderOutcomeUnknown         the request may have reached the exchange; resolve by looking the order up
├── WarehouseError              the models could not build, e.g. the database file busy (kalshi_lake.warehouse.errors)
│   ├── ModelError         no       one model failed; names it and its file
│   ├── ModelTestsFailed   no       models built, some model tests returned rows
│   └── WarehouseLocationError no   the DuckDB file was put on an object store (also a ConfigError)
└── BacktestError          no   bad backtest input (kalshi_lake.backtest.errors), also a ValueError
    ├── BacktestDataError  no       the lake lacks what the backtest needs
    ├── StrategyLoadError  no       the strategy cannot be imported
    └── StrategyParamError no       a strategy parameter is unknown or malformed
```
Other modules may add subclasses below these (drawn here; a test keeps the drawing complete); nobody adds new
roots. ``retriable(exc)`` is the one place that decides whether waiting can heal a failure (Prefect task retries
use it): a kalshi-lake error says so by its type; ``OSError`` (disk, network) may heal; anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "KalshiLakeError",
    "ConfigError",
    "KalshiApiError",
    "BadRequestError",
    "AuthenticationError",
    "NotFoundError",
    "ConflictError",
    "RateLimitError",
    "ServerError",
    "WebSocketError",
    "TransportError",
    "PaginationError",
    "LakeError",
    "LakeLockedError",
    "LakeStateError",
    "OrderError",
    "OrderValidationError",
    "ClientOrderIdConflict",
    "OrderOutcomeUnknown",
    "PullFailed",
    "StreamFailed",
    "api_error_for_status",
    "retriable",
]


class KalshiLakeError(Exception):
    """Root of every error kalshi-lake raises on purpose."""

    retriable: bool = True  # can the same call succeed later, unchanged? (see the tree above)


class ConfigError(KalshiLakeError):
    """A setting is missing, malformed or unknown (the message names the setting and the fix)."""

    retriable = False


class KalshiApiError(KalshiLakeError):
    """The API answered with an error status.

    ``status`` (HTTP status), ``code``/``message``/``details`` (Kalshi's error body, when it sent one),
    ``method`` and ``path`` (the request path without the query string), ``retry_after`` (seconds from a
    ``Retry-After`` header on 429/5xx, else None). Never holds request headers.
    """

    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        details: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.method = method
        self.path = path
        super().__init__(self._text())

    def _text(self) -> str:
        parts = [f"{self.method} {self.path} -> HTTP {self.status}".strip()]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.message:
            parts.append(self.message)
        if self.details:
            parts.append(f"({self.details})")
        return " ".join(parts)

    def __reduce__(self):  # keep pickling (process pools, Prefect) working with keyword-only args
        return (
            _rebuild_api_error,
            (type(self), self.message, self.status, self.code, self.details, self.method, self.path),
        )


def _rebuild_api_error(cls, message, status, code, details, method, path):
    return cls(message, status=status, code=code, details=details, method=method, path=path)


class BadRequestError(KalshiApiError):
    """HTTP 400: the exchange rejected the request's parameters or body."""

    retriable = False


class AuthenticationError(KalshiApiError):
    """HTTP 401/403: key id, signature, clock or key scope is wrong."""

    retriable = False


class NotFoundError(KalshiApiError):
    """HTTP 404: no such ticker/order/path."""

    retriable = False


class ConflictError(KalshiApiError):
    """HTTP 409: the resource already exists (e.g. a duplicate client_order_id)."""

    retriable = False


class RateLimitError(KalshiApiError):
    """HTTP 429: the token bucket is empty. Reads are retried with backoff before this surfaces."""


class ServerError(KalshiApiError):
    """HTTP 5xx: the exchange failed. Reads are retried with backoff before this surfaces."""


class WebSocketError(KalshiApiError):
    """The WebSocket answered a command with an error frame (``kalshi_extract.ws``).

    ``code`` is Kalshi's number (6 already subscribed, 8 unknown channel, 9 authentication required, 16 market
    not found, 25 subscription buffer overflow…), ``command`` the command that failed (``subscribe``…),
    ``market_ticker`` when the frame names one. ``status`` is None: there is no HTTP status on a frame. A refused
    handshake is an ``AuthenticationError`` (401/403) or another ``KalshiApiError`` by its HTTP status instead.
    """

    retriable = False
    RETRIABLE_CODES = frozenset({1, 17, 18, 25})  # processing error, internal error, timeout, buffer overflow

    def __init__(
        self, message: str, *, code: int | None, command: str = "", market_ticker: str | None = None
    ) -> None:
        self.status = None
        self.code = code
        self.message = message
        self.details = market_ticker
        self.market_ticker = market_ticker
        self.command = command
        self.method = "WS"
        self.path = command
        if code in self.RETRIABLE_CODES:
            self.retriable = True
        Exception.__init__(self, self._text())

    def _text(self) -> str:
        text = f"WebSocket {self.command or 'command'} failed: [{self.code}] {self.message}"
        return text + (f" ({self.market_ticker})" if self.market_ticker else "")

    def __reduce__(self):
        return (_rebuild_ws_error, (type(self), self.message, self.code, self.command, self.market_ticker))


def _rebuild_ws_error(cls, message, code, command, market_ticker):
    return cls(message, code=code, command=command, market_ticker=market_ticker)


class TransportError(KalshiLakeError):
    """No usable response: connection refused/reset, timeout, truncated or malformed body.

    ``maybe_sent`` is False only when the request certainly never reached the server (connection refused,
    connect timeout); orders use it to decide whether an outcome is unknown.
    """

    def __init__(self, message: str, *, method: str = "", path: str = "", maybe_sent: bool = True) -> None:
        self.method = method
        self.path = path
        self.maybe_sent = maybe_sent
        super().__init__(f"{method} {path}: {message}".strip(": ") if (method or path) else message)

    def __reduce__(self):
        return (_rebuild_transport_error, (type(self), self.args[0], self.method, self.path, self.maybe_sent))


def _rebuild_transport_error(cls, text, method, path, maybe_sent):
    err = cls.__new__(cls)
    Exception.__init__(err, text)
    err.method, err.path, err.maybe_sent = method, path, maybe_sent
    return err


class PaginationError(KalshiLakeError):
    """The cursor loop cannot continue safely: a repeated cursor or a malformed page."""

    retriable = False


class LakeError(KalshiLakeError):
    """Problems with the Parquet lake."""


class LakeLockedError(LakeError):
    """Another run holds the lake lock."""


class LakeStateError(LakeError):
    """A state/watermark file is corrupt or inconsistent."""

    retriable = False


class OrderError(KalshiLakeError):
    """Problems placing or managing orders."""


class OrderValidationError(OrderError):
    """The order was rejected locally before anything was sent."""

    retriable = False


class ClientOrderIdConflict(OrderError):
    """The exchange already has an order under this ``client_order_id`` and its terms differ (ticker, side,
    price or count): this order was not placed. ``client_order_id`` and ``order`` (the order found) say which."""

    retriable = False

    def __init__(
        self, message: str, *, client_order_id: str | None = None, order: dict | None = None
    ) -> None:
        self.client_order_id = client_order_id
        self.order = order
        super().__init__(message)

    def __reduce__(self):
        return (_rebuild_conflict, (type(self), self.args[0], self.client_order_id, self.order))


def _rebuild_conflict(cls, message, client_order_id, order):
    return cls(message, client_order_id=client_order_id, order=order)


class OrderOutcomeUnknown(OrderError):
    """The request may or may not have reached the exchange; look the order up by client_order_id."""


_STATUS_TYPES: dict[int, type[KalshiApiError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def api_error_for_status(status: int) -> type[KalshiApiError]:
    """The typed error class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _STATUS_TYPES.get(status, KalshiApiError)


class PullFailed(KalshiLakeError):
    """One or more streams of a pull failed; ``.results`` holds every stream's outcome (the others landed)."""

    def __init__(self, message: str, results=()):
        super().__init__(message)
        self.results = list(results)


class StreamFailed(PullFailed):
    """One stream's pull failed (it is recorded in ``_runs``). ``.result`` is its ``StreamResult``; ``.retriable``
    is the verdict :func:`retriable` gave on the exception that ended it."""

    def __init__(self, result):
        super().__init__(f"{result.stream}: {result.error}", [result])
        self.result = result
        self.stream = result.stream
        self.reason = result.error  # the message without the stream name
        self.retriable = bool(result.retriable)

    def __reduce__(self):
        return (type(self), (self.result,))


def retriable(exc: BaseException) -> bool:
    """Whether the call that raised ``exc`` may succeed if tried again later, unchanged."""
    if isinstance(exc, KalshiLakeError):
        return exc.retriable
    return isinstance(exc, OSError)
