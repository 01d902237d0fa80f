"""Everything that talks to Kalshi and lands data. No Prefect, no CLI."""

from kalshi_extract.api.client import KalshiClient

__all__ = ["KalshiClient"]
