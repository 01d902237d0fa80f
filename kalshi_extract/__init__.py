"""Everything that talks to Kalshi and lands data. No Prefect, no CLI.

Subpackages by concern: `api` (REST client), `lake` (Parquet storage), `ingest` (API → lake), `orders` (order
entry). `errors`, `settings` and `money` are shared by all of them. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kalshi_extract.api.client import KalshiClient

__all__ = ["KalshiClient"]


def __getattr__(name: str):
    # Lazy: importing kalshi_extract.lake (or errors) must not pull in the HTTP stack.
    if name == "KalshiClient":
        from kalshi_extract.api.client import KalshiClient

        return KalshiClient
    raise AttributeError(f"module 'kalshi_extract' has no attribute {name!r}")
