"""A local Kalshi-compatible exchange. Shares no code with kalshi_extract."""
