"""Where the team's shared reference material lives: the official spec and genuine recorded responses.

CI clones the repository with `shared/` beside it; `KALSHI_SHARED_DIR` points elsewhere when needed.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    configured = os.environ.get("KALSHI_SHARED_DIR")
    if configured:
        return Path(configured)
    beside = _REPO.parent / "shared"
    return beside if beside.is_dir() else Path("/work/shared")


SHARED = _shared_dir()
REAL_DATA = SHARED / "real-data"
SPEC = SHARED / "kalshi-openapi" / "openapi-v3.21.0.yaml"
