"""The setup every notebook in `notebooks/` shares: find the lake, open its warehouse, through the product's code.

```python
from kalshi_lake.notebook import lake_dir_for, open_warehouse, warehouse_for
con = open_warehouse(LAKE_DIR)        # read-only DuckDB over the warehouse, or the models built in memory
lake_dir = lake_dir_for(LAKE_DIR)     # a local Path, or the URI string of a remote lake (s3://bucket/k)
db_path = warehouse_for(LAKE_DIR)     # the warehouse file (local; KALSHI_WAREHOUSE or <lake_dir>/kalshi.duckdb)
```

Decisions:
- `LAKE_DIR=None` means the settings' `lake_dir` (`KALSHI_LAKE_DIR` / kalshi-lake.toml, default `./data`).
  Settings are loaded either way, so a misspelled config key is reported even when `LAKE_DIR` is given.
- A remote lake (`s3://…`, any fsspec URI) stays a string: `Path('s3://b/k')` would read `s3:/b/k`, a local
  folder that does not exist, and the notebook would show an empty lake without an error. Its warehouse is the
  settings' local `warehouse_path` (`KALSHI_WAREHOUSE`); every connection reads the lake through fsspec
  (`kalshi_lake.warehouse.register_lake`).
- A relative local directory that does not exist here but does one level up is taken from there: Jupyter runs a
  notebook with `notebooks/` as its working directory, and `kalshi-lake demo` writes `./data` at the repo root.
- Without a built warehouse the models are built in an in-memory DuckDB over the lake, so a notebook works on a
  freshly pulled lake. Which of the two was opened is printed (the notebook's first output).
"""

from __future__ import annotations

from pathlib import Path

WAREHOUSE_FILE = "kalshi.duckdb"


def _is_uri(text: str) -> bool:
    return "://" in text and not text.startswith("file://")


def lake_dir_for(lake_dir: str | Path | None = None) -> Path | str:
    """The lake directory a notebook should read: `lake_dir`, else the settings' one, found from `notebooks/`.
    A local directory is a `Path`; a remote one (`s3://…`) its URI string, unchanged."""
    from kalshi_extract.settings import Settings

    settings = Settings.load()
    raw = str(lake_dir or settings.lake_dir)
    if _is_uri(raw):
        return raw.rstrip("/")
    path = Path(raw.removeprefix("file://"))
    if not path.is_absolute() and not path.exists() and (Path.cwd().parent / path).exists():
        path = Path.cwd().parent / path  # opened from notebooks/: the lake lives at the repo root
    return path


def lake_root_for(lake_dir: str | Path | None = None) -> str:
    """The lake root (`<lake_dir>/lake`) as the product's readers take it (a path or a URI)."""
    base = lake_dir_for(lake_dir)
    return f"{base}/lake" if isinstance(base, str) else str(base / "lake")


def warehouse_for(lake_dir: str | Path | None = None) -> Path:
    """The warehouse file of the lake: `KALSHI_WAREHOUSE` when set, else `<lake_dir>/kalshi.duckdb` for a local
    lake, and the settings' local default for a remote one (DuckDB cannot keep its file on an object store)."""
    from kalshi_extract.settings import Settings

    settings = Settings.load()
    base = lake_dir_for(lake_dir)
    if settings.warehouse or isinstance(base, str):
        return Path(settings.warehouse_path)
    return base / WAREHOUSE_FILE


def open_warehouse(lake_dir: str | Path | None = None):
    """A read-only connection to the lake's warehouse, or the models built in memory when there is none."""
    from kalshi_lake import warehouse

    db_path = warehouse_for(lake_dir)
    if db_path.exists():
        con = warehouse.connect(str(db_path))
        print(f"warehouse: {db_path}")
    else:
        root = lake_root_for(lake_dir)
        con = warehouse.build_in_memory(root)
        print(f"warehouse: in memory over {root}")
    return con
