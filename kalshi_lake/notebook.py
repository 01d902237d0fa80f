"""The setup every notebook in `notebooks/` shares: find the lake directory, open its warehouse.

```python
from kalshi_lake.notebook import lake_dir_for, open_warehouse
con = open_warehouse(LAKE_DIR)        # read-only DuckDB over <lake_dir>/kalshi.duckdb, or built in memory
lake_dir = lake_dir_for(LAKE_DIR)     # the directory itself (05_backtest writes next to the warehouse)
```

Decisions:
- `LAKE_DIR=None` means the settings' `lake_dir` (`KALSHI_LAKE_DIR` / kalshi-lake.toml, default `./data`).
  Settings are loaded either way, so a misspelled config key is reported even when `LAKE_DIR` is given.
- A relative directory that does not exist here but does one level up is taken from there: Jupyter runs a
  notebook with `notebooks/` as its working directory, and `kalshi-lake demo` writes `./data` at the repo root.
- Without a built warehouse the models are built in an in-memory DuckDB over `<lake_dir>/lake`, so a notebook
  works on a freshly pulled lake. Which of the two was opened is printed (the notebook's first output).
"""

from __future__ import annotations

from pathlib import Path

WAREHOUSE_FILE = "kalshi.duckdb"


def lake_dir_for(lake_dir: str | Path | None = None) -> Path:
    """The lake directory a notebook should read: `lake_dir`, else the settings' one, found from `notebooks/`."""
    from kalshi_extract.settings import Settings

    settings = Settings.load()
    path = Path(lake_dir or settings.lake_dir)
    if not path.is_absolute() and not path.exists() and (Path.cwd().parent / path).exists():
        path = Path.cwd().parent / path  # opened from notebooks/: the lake lives at the repo root
    return path


def open_warehouse(lake_dir: str | Path | None = None):
    """A read-only connection to `<lake_dir>/kalshi.duckdb`, or the models built in memory when there is none."""
    from kalshi_lake import warehouse

    path = lake_dir_for(lake_dir)
    db_path = path / WAREHOUSE_FILE
    if db_path.exists():
        con = warehouse.connect(str(db_path))
        print(f"warehouse: {db_path}")
    else:
        con = warehouse.build_in_memory(str(path / "lake"))
        print(f"warehouse: in memory over {path / 'lake'}")
    return con
