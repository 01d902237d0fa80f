"""Warehouse errors, under the project's one exception tree (`kalshi_extract.errors.KalshiLakeError`)."""

from __future__ import annotations

from pathlib import Path

from kalshi_extract.errors import ConfigError, KalshiLakeError


class WarehouseError(KalshiLakeError):
    """The warehouse could not build: bad model file, unreadable lake stream, locked database, failed checks
    (from `BuildResult.raise_for_failures`)."""


class ModelError(WarehouseError):
    """One model failed to build; names the model and its file. Nothing of the build was committed."""

    retriable = False

    def __init__(self, model: str, path: Path, message: str):
        self.model, self.path = model, path
        super().__init__(f"model {model} ({path}) failed to build: {message}")


class ModelTestsFailed(WarehouseError):
    """The models built, but some model tests returned rows (each failure names its test and rows)."""

    retriable = False


class WarehouseLocationError(WarehouseError, ConfigError):
    """The warehouse's DuckDB file was given a place DuckDB cannot keep it (an object store): a configuration
    error, never retried (set `KALSHI_WAREHOUSE` to a local path)."""

    retriable = False
