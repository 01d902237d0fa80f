"""The columns of each lake file, remembered between builds, so a build reads the footers of new files only.

A `src_<stream>` view reads its files with `union_by_name` so that a file written before a field was added still
reads (the field is null there). DuckDB then opens every file's footer each time it binds the view: a build binds
each stream's view over its snapshot, a staging model's statements bind it again, and the live view over the
glob once more, so with a year of daily files a 15-minute top-up spent seconds in footers (~0.7 ms a file a bind,
365 files a stream). Lake files never change (a part's name is unique per commit, `kalshi_extract.lake.store`), so
one file's columns are read once, on the first build that sees it: `_kalshi_file_schemas` (stream, file, size,
mtime_ns, schema) holds each file of the last build's snapshot with its columns as DuckDB reads them (the hive
`date` included) as a JSON list of [name, type]. A file matches its row only with the same size and mtime on a local
disk (both -1 on a remote store, where the name alone identifies it).

When every file of a stream has the same columns, the view reads them without `union_by_name`
(`sources.source_views`): DuckDB then binds the first file's footer alone and matches the other files' columns by
name; a stream whose files differ keeps `union_by_name`. Written in the build's transaction with the rest of what it
records; an entry is a fact about an immutable file, so whoever wrote it, it stays true."""

from __future__ import annotations

import json

from .sources import file_list, parquet_reader

TABLE = "_kalshi_file_schemas"

FileRow = tuple[str, str, int, int]  # stream, file, size, mtime_ns (-1, -1 on a remote store)


class FileSchemas:
    """The columns of the snapshot's files: those the last build recorded, the others read from their footers."""

    def __init__(self, con):
        self._known: dict[FileRow, str] = {}
        # asked, not tried: a failed statement would abort the build's transaction
        if con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'main' and table_name = ?", [TABLE]
        ).fetchone()[0]:
            rows = con.execute(f"select stream, file, size, mtime_ns, schema from {TABLE}").fetchall()
            self._known = {(s, f, size, mtime): schema for s, f, size, mtime, schema in rows}
        self._used: dict[FileRow, str] = {}

    def of(self, con, rows: list[FileRow]) -> list[str]:
        """Each file's schema (a JSON list of [name, type]), in the order of `rows`; a file not known is read now."""
        out = []
        for row in rows:
            schema = self._known.get(row)
            if schema is None:
                described = con.execute(
                    f"describe select * from {parquet_reader(file_list([row[1]]))}"
                ).fetchall()
                schema = json.dumps([[name, kind] for name, kind, *_ in described])
            self._used[row] = schema
            out.append(schema)
        return out

    def record(self, con) -> None:
        """Keep the schemas of this build's files (and only those) for the next build."""
        con.execute(
            f"create or replace table {TABLE} "
            "(stream varchar, file varchar, size bigint, mtime_ns bigint, schema varchar)"
        )
        if self._used:
            columns = zip(*((*row, schema) for row, schema in self._used.items()), strict=True)
            con.execute(
                f"insert into {TABLE} select unnest(?), unnest(?), unnest(?), unnest(?), unnest(?)",
                [list(c) for c in columns],
            )
