"""Everything that talks to Kalshi and lands data. No Prefect, no CLI."""

from kalshi_extract.client import KalshiClient

__all__ = ["KalshiClient"]
