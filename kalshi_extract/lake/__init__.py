"""The Parquet lake: typed Arrow in, atomic exactly-once files, watermarks and the run log out.

`store` (the layout and commit protocol), `writer`, `locks`, `state`, `run_log`, `schemas` (the column types),
`convert` (API items to typed Arrow). Never imports :mod:`kalshi_extract.api`.
"""

from kalshi_extract.lake.store import Lake

__all__ = ["Lake"]
