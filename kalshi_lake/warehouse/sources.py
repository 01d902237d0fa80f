"""Source views `src_<stream>` over the Parquet lake, from the declarations in `sql/sources.toml` (generated from
the lake's Arrow schemas by `kalshi_lake.warehouse.gen_sources`: every column, its metadata columns included).

Each declared column is cast to its declared type; a declared column absent from the files becomes a typed NULL;
every other column (new API fields, the hive `date` partition) passes through unchanged, so an unknown extra
column never breaks a build. A stream with no files yet becomes an empty view with the declared columns, so every
model builds on a fresh lake.

During a build each view reads exactly the files of the build's snapshot (`snapshot.take_snapshot`); after it,
the view reads the stream's glob (the lake as it is then), see `source_views`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .snapshot import stream_glob


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


def quote_ident(name: str) -> str:
    """A SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _quote_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def file_list(files: list[str] | tuple[str, ...]) -> str:
    """A SQL list literal of file paths."""
    return "[" + ", ".join(map(_quote_str, files)) + "]"


def parquet_reader(target: str, by_name: bool = True) -> str:
    """How the warehouse reads lake files: `read_parquet` of `target` (a quoted glob or a `file_list`) with the hive
    `date` partition and the columns of every file (a file written before a field was added lacks it). `by_name`
    False: files known to have the same columns, read by the first one's footer (`file_schemas.py`)."""
    return (
        f"read_parquet({target}, hive_partitioning = true, union_by_name = {'true' if by_name else 'false'})"
    )


def source_views(
    con, source: Source, lake_root: str, files: list[str], hidden: bool, schemas: list[str]
) -> tuple[str, str]:
    """Two `create or replace view src_<stream>` statements with the same typed columns: one over exactly `files`
    (the build's snapshot, which the staging tables are built from) and one over the stream's glob (what the view
    stays after the build, so ad-hoc queries see the lake as it is and compaction cannot break it; the explicit list
    when `_`/`.`-prefixed files lie under the stream, which the glob would read). `schemas`: each file's columns
    (`file_schemas.FileSchemas.of`); when they are all the same, both views read without `union_by_name` (a file the
    pulls add before the next build is written by the same lake code, with the same columns)."""
    cols = source.columns
    if not files:
        select = ", ".join(f"cast(null as {t}) as {quote_ident(c)}" for c, t in cols.items())
        sql = f"create or replace view {source.view} as select {select} where false"
        return sql, sql
    listed = file_list(files)
    target = listed if hidden else _quote_str(stream_glob(lake_root, source.stream))
    uniform = len(set(schemas)) == 1
    if uniform:
        present = [name for name, _ in json.loads(schemas[0])]
    else:
        present = [r[0] for r in con.execute(f"describe select * from {parquet_reader(listed)}").fetchall()]
    parts = []
    for c, t in cols.items():
        parts.append(
            f"cast({quote_ident(c)} as {t}) as {quote_ident(c)}"
            if c in present
            else f"cast(null as {t}) as {quote_ident(c)}"
        )
    parts += [quote_ident(c) for c in present if c not in cols]
    head = f"create or replace view {source.view} as select {', '.join(parts)} from "
    return head + parquet_reader(listed, not uniform), head + parquet_reader(target, not uniform)
