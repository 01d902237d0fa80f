"""Settings: the only reader of the environment.

``Settings.load(environ=os.environ, config_path=None)`` merges, lowest first: defaults, an optional TOML file
(``config_path`` argument, else ``KALSHI_CONFIG``, else ``./kalshi-lake.toml`` if it exists; same keys in lowercase
without the ``KALSHI_`` prefix), then ``KALSHI_*`` environment variables. An unknown TOML key or ``KALSHI_*``
variable raises ``ConfigError`` naming the closest valid key.

Decisions where the contract is silent:
- Only variables starting exactly with ``KALSHI_`` are checked; ``KALSHI_CONFIG`` is valid (it names the file).
  ``KALSHI_SIM_*`` variables belong to the local exchange and are ignored here.
- ``tier_explicit`` records whether the tier was set (env or TOML); the pacer asks ``/account/limits`` (with a
  key, or on the local exchange) only when it was not.
- Known tiers: basic advanced expert premier paragon prime prestige unlimited.
- The WebSocket URL is ``KALSHI_WS_URL`` if set, else the env's WS host; for ``local`` it is derived from
  ``KALSHI_API_URL`` (``http``→``ws``, ``https``→``wss``, ``/trade-api/v2``→``/trade-api/ws/v2``), so one
  variable points both clients at a local exchange. Against prod/demo a custom ``KALSHI_API_URL`` does not move
  the WebSocket: set ``KALSHI_WS_URL`` too.
- ``record_series`` (``KALSHI_RECORD_SERIES``, comma-separated): when set, ``kalshi-lake serve`` also runs the
  WebSocket recorder on those series (``pipelines.serve``); unset, nothing is recorded.
- ``warehouse`` (``KALSHI_WAREHOUSE``): where the DuckDB file lives; it must be local (a ``file://`` prefix is
  dropped; any other URI is a ``ConfigError``). Unset: ``<lake_dir>/kalshi.duckdb``, or ``./data/kalshi.duckdb``
  when the lake is remote (``s3://…``): DuckDB cannot keep its database on an object store.
- ``private_key`` (PEM text) is never shown by ``repr``/``str``; neither is the content of the key file.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kalshi_extract.errors import ConfigError

__all__ = ["Settings", "HOSTS", "WS_HOSTS", "TIERS", "ENV_KEYS"]

HOSTS = {
    "prod": "https://external-api.kalshi.com/trade-api/v2",
    "demo": "https://external-api.demo.kalshi.co/trade-api/v2",
}
WS_HOSTS = {
    "prod": "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
    "demo": "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
}
_REST_PATH, _WS_PATH = "/trade-api/v2", "/trade-api/ws/v2"
TIERS = ("basic", "advanced", "expert", "premier", "paragon", "prime", "prestige", "unlimited")

# toml key -> env var (the settings keys; KALSHI_CONFIG only names the file)
ENV_KEYS = {
    "env": "KALSHI_ENV",
    "api_url": "KALSHI_API_URL",
    "ws_url": "KALSHI_WS_URL",
    "api_key_id": "KALSHI_API_KEY_ID",
    "private_key_path": "KALSHI_PRIVATE_KEY_PATH",
    "private_key": "KALSHI_PRIVATE_KEY",
    "tier": "KALSHI_TIER",
    "lake_dir": "KALSHI_LAKE_DIR",
    "account": "KALSHI_ACCOUNT",
    "max_order_count": "KALSHI_MAX_ORDER_COUNT",
    "max_position": "KALSHI_MAX_POSITION",
    "schedule_market_data": "KALSHI_SCHEDULE_MARKET_DATA",
    "schedule_portfolio": "KALSHI_SCHEDULE_PORTFOLIO",
    "task_runner": "KALSHI_TASK_RUNNER",
    "concurrency": "KALSHI_CONCURRENCY",
    "record_series": "KALSHI_RECORD_SERIES",
    "max_mid_age_seconds": "KALSHI_MAX_MID_AGE_SECONDS",
    "warehouse": "KALSHI_WAREHOUSE",
}
_CONFIG_VAR = "KALSHI_CONFIG"
_FOREIGN_PREFIXES = ("KALSHI_SIM_",)
_VALID_ENV = set(ENV_KEYS.values()) | {_CONFIG_VAR}
_DEFAULT_TOML = "kalshi-lake.toml"


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build it with ``Settings.load()``; ``repr`` hides the private key."""

    env: str = "prod"
    api_url: str | None = None
    ws_url: str | None = None
    api_key_id: str | None = None
    private_key_path: str | None = None
    private_key: str | None = field(default=None, repr=False)
    tier: str = "basic"
    lake_dir: str = "./data"
    account: str = "default"
    max_order_count: Decimal | None = None
    max_position: Decimal | None = None
    schedule_market_data: str = "*/15 * * * *"
    schedule_portfolio: str = "0 * * * *"
    task_runner: str = "threads"
    concurrency: int = 8
    record_series: str | None = None  # comma-separated series `kalshi-lake serve` records over the WebSocket
    max_mid_age_seconds: int | None = (
        None  # the models' freshest-mid limit (sql/macros.sql); None: its default, 60
    )
    warehouse: str | None = (
        None  # the DuckDB file (local); None: <lake_dir>/kalshi.duckdb, see warehouse_path
    )
    tier_explicit: bool = False
    config_path: str | None = None

    def __post_init__(self) -> None:
        if self.env not in ("prod", "demo", "local"):
            raise ConfigError(f"KALSHI_ENV must be prod, demo or local, not {self.env!r}")
        if self.env == "local" and not self.api_url:
            raise ConfigError(
                "KALSHI_ENV=local needs KALSHI_API_URL (e.g. http://127.0.0.1:8765/trade-api/v2)"
            )
        if self.api_url is not None:
            parts = urlsplit(self.api_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"KALSHI_API_URL must be an http(s) URL, not {self.api_url!r}")
            object.__setattr__(self, "api_url", self.api_url.rstrip("/"))
        if self.ws_url is not None:
            parts = urlsplit(self.ws_url)
            if parts.scheme not in ("ws", "wss") or not parts.netloc:
                raise ConfigError(f"KALSHI_WS_URL must be a ws:// or wss:// URL, not {self.ws_url!r}")
            object.__setattr__(self, "ws_url", self.ws_url.rstrip("/"))
        if self.tier not in TIERS:
            raise ConfigError(f"KALSHI_TIER {self.tier!r} is not a known tier; use one of {', '.join(TIERS)}")
        if self.task_runner not in ("threads", "dask"):
            raise ConfigError(f"KALSHI_TASK_RUNNER must be threads or dask, not {self.task_runner!r}")
        if (
            isinstance(self.concurrency, bool)
            or not isinstance(self.concurrency, int)
            or self.concurrency < 1
        ):
            raise ConfigError(f"KALSHI_CONCURRENCY must be a positive integer, not {self.concurrency!r}")
        if self.max_mid_age_seconds is not None and (
            isinstance(self.max_mid_age_seconds, bool)
            or not isinstance(self.max_mid_age_seconds, int)
            or self.max_mid_age_seconds < 0
        ):
            raise ConfigError(
                f"KALSHI_MAX_MID_AGE_SECONDS must be a whole number of seconds >= 0, not {self.max_mid_age_seconds!r}"
            )
        if self.warehouse is not None:
            path = self.warehouse.removeprefix("file://")
            if "://" in path or not path:
                raise ConfigError(
                    f"KALSHI_WAREHOUSE must be a local file path (DuckDB cannot keep its database on "
                    f"{path.split('://', 1)[0] or 'an empty path'}), not {self.warehouse!r}; the lake itself may "
                    "stay remote"
                )
            object.__setattr__(self, "warehouse", str(Path(path).expanduser()))
        if self.private_key is not None and "PRIVATE KEY" not in self.private_key:
            raise ConfigError("KALSHI_PRIVATE_KEY must hold PEM text (-----BEGIN ... PRIVATE KEY-----)")

    # --- derived -----------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """The API base URL including ``/trade-api/v2``: KALSHI_API_URL if set, else the env's host."""
        return self.api_url or HOSTS[self.env]

    @property
    def websocket_url(self) -> str:
        """The WebSocket URL: KALSHI_WS_URL if set, else the env's host; for ``local`` derived from the API URL."""
        if self.ws_url:
            return self.ws_url
        if self.env != "local":
            return WS_HOSTS[self.env]
        parts = urlsplit(self.base_url)
        if not parts.path.endswith(_REST_PATH):
            raise ConfigError(
                f"cannot derive the WebSocket URL from KALSHI_API_URL {self.base_url!r} (its path does not end "
                f"in {_REST_PATH}); set KALSHI_WS_URL"
            )
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}{parts.path[: -len(_REST_PATH)]}{_WS_PATH}"

    @property
    def has_key(self) -> bool:
        """True when an API key id and a private key (file or PEM text) are configured."""
        return bool(self.api_key_id) and bool(self.private_key or self.private_key_path)

    @property
    def warehouse_path(self) -> str:
        """The DuckDB file: ``KALSHI_WAREHOUSE`` if set, else ``<lake_dir>/kalshi.duckdb`` for a local lake and
        ``./data/kalshi.duckdb`` for a remote one (DuckDB's file must be on the local disk)."""
        if self.warehouse:
            return self.warehouse
        if "://" in self.lake_dir.removeprefix("file://"):
            return str(Path("data") / "kalshi.duckdb")
        return _join(self.lake_dir.removeprefix("file://"), "kalshi.duckdb")

    @property
    def lake_root(self) -> str:
        return _join(self.lake_dir, "lake")

    def __repr__(self) -> str:
        shown = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "private_key":
                shown.append(f"private_key={'<set>' if value else None}")
            else:
                shown.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    __str__ = __repr__

    # --- loading -----------------------------------------------------------------------------------------------
    @classmethod
    def load(
        cls, environ: Mapping[str, str] | None = None, config_path: str | os.PathLike | None = None
    ) -> Settings:
        """Resolve settings from defaults < TOML file < environment. Raises ConfigError on any bad/unknown key."""
        environ = os.environ if environ is None else environ
        _check_env_names(environ)
        raw: dict[str, Any] = {}
        source: dict[str, str] = {}
        path = _config_file(environ, config_path)
        if path is not None:
            for key, value in _read_toml(path).items():
                raw[key] = value
                source[key] = f"{key} in {path}"
        for key, var in ENV_KEYS.items():
            if var in environ and environ[var] != "":
                raw[key] = environ[var]
                source[key] = var
        kwargs = {key: _coerce(key, value, source[key]) for key, value in raw.items()}
        kwargs["tier_explicit"] = "tier" in raw
        kwargs["config_path"] = str(path) if path is not None else None
        if "tier" in kwargs:
            kwargs["tier"] = kwargs["tier"].lower()
        return cls(**kwargs)

    @classmethod
    def from_env(cls) -> Settings:
        return cls.load()


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name if "://" in base else str(Path(base) / name)


def _closest(name: str, candidates) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.0)
    return match[0] if match else ""


def _check_env_names(environ: Mapping[str, str]) -> None:
    for name in environ:
        if not name.startswith("KALSHI_") or name in _VALID_ENV or name.startswith(_FOREIGN_PREFIXES):
            continue
        raise ConfigError(
            f"unknown environment variable {name}; did you mean {_closest(name, _VALID_ENV)}? "
            f"(valid: {', '.join(sorted(_VALID_ENV))})"
        )


def _config_file(environ: Mapping[str, str], config_path) -> Path | None:
    if config_path is not None:
        path = Path(config_path)
    elif environ.get(_CONFIG_VAR):
        path = Path(environ[_CONFIG_VAR])
    else:
        path = Path(_DEFAULT_TOML)
        return path if path.is_file() else None
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (set by {_CONFIG_VAR} or config_path)")
    return path


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    for key, value in data.items():
        if key not in ENV_KEYS:
            raise ConfigError(
                f"unknown key {key!r} in {path}; did you mean {_closest(key, ENV_KEYS)!r}? "
                f"(valid: {', '.join(ENV_KEYS)})"
            )
        if isinstance(value, dict | list):
            raise ConfigError(f"{key} in {path} must be a single value, not a {type(value).__name__}")
    return data


def _coerce(key: str, value: Any, source: str) -> Any:
    if key in ("max_order_count", "max_position"):
        if isinstance(value, bool):
            raise ConfigError(f"{source} must be a number, not {value!r}")
        try:
            dec = Decimal(str(value).strip())  # TOML floats go through their shortest text, never binary
        except InvalidOperation:
            raise ConfigError(f"{source} must be a number, not {value!r}") from None
        if not dec.is_finite() or dec <= 0:
            raise ConfigError(f"{source} must be a positive number, not {value!r}")
        return dec
    if key in ("concurrency", "max_mid_age_seconds"):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            what = "a positive integer" if key == "concurrency" else "a whole number of seconds >= 0"
            raise ConfigError(f"{source} must be {what}, not {value!r}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{source} must be a string, not {value!r}")
    if key == "private_key":
        if "\\n" in value and "\n" not in value.strip():
            value = value.replace("\\n", "\n")  # one-line PEM from a .env file or CI secret: literal \n
        return value
    value = value.strip()
    if key == "private_key_path":
        return str(Path(value).expanduser())
    return value
