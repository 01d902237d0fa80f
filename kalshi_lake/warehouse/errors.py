"""Warehouse errors, placed under the project's one exception tree (`kalshi_extract.errors.KalshiLakeError`)."""

from __future__ import annotations

from pathlib import Path

try:  # the shared tree (issue #2); the warehouse must not add a new root
    from kalshi_extract.errors import KalshiLakeError as _Base
except ImportError:  # pragma: no cover - only while kalshi_extract.errors does not exist yet
    _Base = Exception


class WarehouseError(_Base):
    """The warehouse could not build: bad model file, unreadable lake stream, failed checks (on request)."""


class ModelError(WarehouseError):
    """One model failed to build; names the model and its file. Nothing of the build was committed."""

    def __init__(self, model: str, path: Path, message: str):
        self.model, self.path = model, path
        super().__init__(f"model {model} ({path}) failed to build: {message}")
