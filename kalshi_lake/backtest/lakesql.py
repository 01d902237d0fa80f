"""DuckDB over the lake's Parquet: the few helpers every backtest loader shares (``data``, ``data_books``)."""

from __future__ import annotations


def connect():
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set autoinstall_known_extensions = false")  # a remote lake is read through fsspec
    return con


def stream_source(con, lake_root: str, stream: str) -> tuple[str, set[str]] | None:
    """SQL source for a stream and its column names, or None if the stream has no files."""
    from kalshi_lake.warehouse import register_lake

    lake_root = register_lake(con, lake_root)  # an s3:// (any fsspec) lake: read through fsspec
    pattern = f"{str(lake_root).rstrip('/')}/{stream}/**/*.parquet"
    n = con.execute("select count(*) from glob(?)", [pattern]).fetchall()[0][0]
    if not n:
        return None
    quoted = pattern.replace("'", "''")
    src = f"read_parquet('{quoted}', hive_partitioning=true, union_by_name=true)"
    cols = {r[0] for r in con.execute(f"describe select * from {src}").fetchall()}
    return src, cols


def window_sql(col: str, start_us: int | None, end_us: int | None) -> str:
    parts = []
    if start_us is not None:
        parts.append(f"epoch_us({col}) >= {int(start_us)}")
    if end_us is not None:
        parts.append(f"epoch_us({col}) < {int(end_us)}")
    return " and ".join(parts) or "true"


def ticker_map_sql(con, index: dict[str, int]) -> str:
    con.execute("create or replace temp table bt_tickers (ticker varchar, market bigint)")
    con.executemany("insert into bt_tickers values (?, ?)", list(index.items()))
    return "bt_tickers"
