"""Source views `src_<stream>` over the Parquet lake, from the declarations in `sql/sources.toml` (generated from
the lake's Arrow schemas by `kalshi_lake.warehouse.gen_sources`: every column, its metadata columns included).

Each declared column is cast to its declared type; a declared column absent from the files becomes a typed NULL;
every other column (new API fields, the hive `date` partition) passes through unchanged, so an unknown extra
column never breaks a build. A stream with no files yet becomes an empty view with the declared columns, so every
model builds on a fresh lake.
"""

from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    """One lake stream: its name and declared columns (name -> DuckDB type)."""

    stream: str
    columns: dict[str, str]

    @property
    def view(self) -> str:
        return f"src_{self.stream}"


def load_sources(path: Path) -> list[Source]:
    """Read `sql/sources.toml`."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [Source(stream, dict(spec["columns"])) for stream, spec in data.items()]


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stream_glob(lake_root: str, stream: str) -> str:
    return f"{lake_root.rstrip('/')}/{stream}/**/*.parquet"


def stream_files(con, lake_root: str, stream: str) -> tuple[list[str], bool]:
    """The stream's Parquet files and whether any lies under a `_`/`.`-prefixed path (which readers must skip:
    the lake writer's convention for files not committed yet). Local paths via `glob`, URIs via DuckDB's glob."""
    pattern = stream_glob(lake_root, stream)
    if "://" not in lake_root:
        files = glob.glob(pattern, recursive=True)
    else:
        files = [r[0] for r in con.execute("select file from glob(?)", [pattern]).fetchall()]
    base = f"{lake_root.rstrip('/')}/{stream}/"
    hidden = [f for f in files if any(part[:1] in ("_", ".") for part in f.split(base, 1)[-1].split("/"))]
    return sorted(set(files) - set(hidden)), bool(hidden)


def source_sql(con, source: Source, lake_root: str) -> str:
    """The `create or replace view src_<stream>` statement for the lake as it is now."""
    cols = source.columns
    files, hidden = stream_files(con, lake_root, source.stream)
    if not files:
        select = ", ".join(f"cast(null as {t}) as {_quote_ident(c)}" for c, t in cols.items())
        return f"create or replace view {source.view} as select {select} where false"
    # normally the glob itself (the view then also sees files committed after the build); with hidden files
    # present, the explicit list of visible files
    target = (
        "[" + ", ".join(map(_quote_str, files)) + "]"
        if hidden
        else _quote_str(stream_glob(lake_root, source.stream))
    )
    reader = f"read_parquet({target}, hive_partitioning = true, union_by_name = true)"
    present = [r[0] for r in con.execute(f"describe select * from {reader}").fetchall()]
    parts = []
    for c, t in cols.items():
        parts.append(
            f"cast({_quote_ident(c)} as {t}) as {_quote_ident(c)}"
            if c in present
            else f"cast(null as {t}) as {_quote_ident(c)}"
        )
    parts += [_quote_ident(c) for c in present if c not in cols]
    return f"create or replace view {source.view} as select {', '.join(parts)} from {reader}"
