"""The warehouse: builds `sql/` into DuckDB over the Parquet lake.

```python
from kalshi_lake import warehouse
result = warehouse.build(settings)               # or a lake dir: build("./data"); -> BuildResult
result.ok, result.failures                       # failed sql/tests checks, each naming the test + offending rows
con = warehouse.connect()                        # read-only connection to <lake_dir>/kalshi.duckdb
con = warehouse.build_in_memory("./data/lake")   # same models in an in-memory DuckDB (tests, notebooks)
```

Decisions (where docs/CONTRACTS.md is silent):
- `build(x)`: `x` is a Settings (uses `.lake_root`, `.warehouse_path`) or a lake dir (lake root `<dir>/lake`,
  database `<dir>/kalshi.duckdb`). `db_path` overrides the database (":memory:" allowed).
- One snapshot per build (issue #17): the file list of every stream is resolved once at the start, consistent with
  the lake's commit protocol (`snapshot.py`), and every staging model is materialised as a TABLE from exactly those
  files, so all models of one build agree whatever pulls commit meanwhile, and each stream is deduplicated once per
  build (not once per consumer, as a view would). After the build the `src_<stream>` views read the lake as it is
  (globs), the `stg_` tables hold the snapshot. A pull may run during a build; a compaction that deletes files of
  the snapshot before staging has read them makes the build start over from a new snapshot.
- One build of a warehouse file at a time: `build` holds `<db>.build.lock` (flock); a second build waits up to
  `lock_timeout` seconds (default 600) for the first, then fails with an error naming the holder.
- Macros, `src_<stream>` views, staging and mart tables are created in ONE transaction: a model that fails
  raises `ModelError` (naming the model and file) and leaves the previous warehouse untouched. Rebuilding replaces
  every object (`create or replace`), so it is idempotent.
- Incremental (`incremental.py`): a build remembers the lake snapshot it read; the next one keeps every model whose
  inputs are unchanged and recomputes only the days touched by new, late or compacted files in the models that
  declare `-- incremental:` lines (the others are rebuilt whole when an input changed). Changed models, macros,
  sources or DuckDB variables, or `full_refresh=True`, rebuild everything. All in the build's one transaction.
  A table of at most `runner.SAME_ROWS` rows that an incremental build rebuilds whole and that comes out equal to
  its previous one (every column, every row) keeps its previous table and counts as unchanged for its readers.
- Failed `sql/tests` checks do not raise: they are returned in `BuildResult.failures` (the models stay built, as
  with dbt); call `result.raise_for_failures()` to turn them into a `WarehouseError`.
- When the last build's checks all passed (recorded as `tests_ok`), a check that reads only models this build kept
  unchanged (its tables and views, and those of the macros it calls: `runner.check_reads`) is not run again: it
  cannot change. It is listed with `skipped` set (`BuildResult.tests_skipped` counts them). A check reading a
  model rebuilt or recomputed, a `src_` view (the lake as it is now) or any other table runs; after a failed or
  unchecked build every check runs.
- `KALSHI_BUILD_TIMING=1` prints the build's phases (`BuildResult.phases`: snapshot, source views, source dirt,
  models, record, commit, checks) and each model rebuilt or recomputed (with why) on stderr.
- Every connection runs with `TimeZone = 'UTC'` so dates of `timestamptz` columns are UTC days.
- The models are read from `SQL_DIR`: `kalshi_lake/warehouse/sql/` in an installed wheel (pyproject's
  `force-include` puts the repo's top-level `sql/` there), the checkout's `sql/` otherwise.
- The lake may be on any fsspec filesystem (`register_lake`: its protocol's fsspec filesystem is registered on the
  connection; DuckDB never installs an extension at run time). Every connection `connect`/`_connect` opens
  registers the protocols its views read, so a warehouse built over `s3://` answers queries anywhere. The DuckDB
  file itself must be local (`file://` is accepted): `KALSHI_WAREHOUSE` (Settings.warehouse_path) or `db_path`.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

from .errors import ModelError, ModelTestsFailed, WarehouseError, WarehouseLocationError
from .runner import (
    BuildResult,
    ModelResult,
    TestFailure,
    TestResult,
    build_models,
    last_tests_ok,
    record_tests,
    run_tests,
    timing_report,
)
from .snapshot import BUILD_LOCK_SECONDS, build_lock


def _find_sql_dir() -> Path:
    """`sql/` inside the installed package (the wheel ships it there), else at the top of the checkout."""
    here = Path(__file__).resolve().parent
    installed, checkout = here / "sql", here.parents[1] / "sql"
    return installed if (installed / "sources.toml").is_file() else checkout


SQL_DIR = _find_sql_dir()

__all__ = [
    "SQL_DIR",
    "BuildResult",
    "ModelError",
    "ModelTestsFailed",
    "ModelResult",
    "TestFailure",
    "TestResult",
    "WarehouseError",
    "build",
    "build_in_memory",
    "build_on",
    "connect",
    "register_lake",
]


def _paths(settings_or_lake_dir) -> tuple[str, str]:
    if hasattr(settings_or_lake_dir, "lake_root") and hasattr(settings_or_lake_dir, "warehouse_path"):
        return str(settings_or_lake_dir.lake_root), str(settings_or_lake_dir.warehouse_path)
    if isinstance(settings_or_lake_dir, str | os.PathLike):
        base = str(settings_or_lake_dir).rstrip("/")
        return f"{base}/lake", f"{base}/kalshi.duckdb"
    raise WarehouseError(
        f"build() needs a Settings or a lake directory path, got {type(settings_or_lake_dir).__name__}"
    )


def _local_db(db: str) -> str:
    """The DuckDB file must be local: `file://` is stripped, any other URI is refused with advice (a ConfigError:
    retrying cannot fix it)."""
    db = db.removeprefix("file://")
    if "://" in db:
        raise WarehouseLocationError(
            f"the warehouse database must be a local file, not {db}: set KALSHI_WAREHOUSE=/local/path/kalshi.duckdb "
            "or pass db_path (the lake itself may stay on the remote filesystem)"
        )
    return db


_PROTOCOL = re.compile(r"\b([a-z][a-z0-9+.-]*)://")


def register_lake(con, lake_root: str) -> str:
    """Let `con` read a lake on any fsspec filesystem (s3://, gs://, memory://...): its protocol's fsspec
    filesystem is registered on the connection (never DuckDB's httpfs, which it would download at run time).
    Returns the root as DuckDB should see it (`file://` stripped). Idempotent per connection."""
    lake_root = str(lake_root)
    if lake_root.startswith("file://"):
        return lake_root.removeprefix("file://")
    if "://" in lake_root:
        _register_protocol(con, lake_root.split("://", 1)[0])
    return lake_root


def _register_protocol(con, protocol: str) -> None:
    import fsspec

    from kalshi_extract.errors import ConfigError

    names = set(con.list_filesystems())
    if protocol in names or any(protocol in n.split(",") for n in names):
        return
    try:
        try:  # no listings cache: a build lists the lake several times and must see every commit
            fs = fsspec.filesystem(protocol, use_listings_cache=False)
        except TypeError:
            fs = fsspec.filesystem(protocol)
    except (ImportError, ValueError) as exc:
        raise ConfigError(
            f"cannot read a {protocol}:// lake: {exc} (install kalshi-lake[s3] for s3://)"
        ) from None
    con.register_filesystem(fs)


def _register_referenced(con) -> None:
    """Register the filesystems the warehouse's views read (its `src_` views name the lake's URI), so a
    connection to a warehouse built over an S3 lake can query them."""
    try:
        rows = con.execute("select sql from duckdb_views() where not internal").fetchall()
    except Exception:  # noqa: BLE001 (an empty or foreign database: nothing to register)
        return
    for protocol in sorted(
        {p for (sql,) in rows for p in _PROTOCOL.findall(sql or "")} - {"file", "http", "https"}
    ):
        _register_protocol(con, protocol)


def _register_filesystem(con, lake_root: str) -> str:
    return register_lake(con, lake_root)


def _connect(db_path: str, read_only: bool = False):
    import duckdb

    try:
        con = duckdb.connect(db_path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise WarehouseError(f"cannot open the warehouse {db_path}: {exc}") from exc
        raise WarehouseError(
            f"the warehouse {db_path} is in use by another process (a build, or an open `kalshi-lake sql` / "
            f"notebook connection that writes): close it and retry. DuckDB says: {exc}"
        ) from exc
    con.execute("set TimeZone = 'UTC'")
    # never download an extension at run time (an S3 lake is read through fsspec, see register_lake)
    con.execute("set autoinstall_known_extensions = false")
    try:
        con.execute("set enable_progress_bar = false")
    except duckdb.InvalidInputException:
        pass  # inside Jupyter without ipywidgets DuckDB refuses to touch this setting (and shows no bar anyway)
    _register_referenced(con)
    return con


def build_on(
    con,
    lake_root: str,
    run_tests_: bool = True,
    sql_dir: Path | None = None,
    on_model=None,
    if_changed: bool = False,
    max_mid_age_seconds: int | None = None,
    full_refresh: bool = False,
) -> BuildResult:
    """Build every model on an open DuckDB connection `con` over `lake_root`, then run the checks.

    `on_model(ModelResult)` is called after each model is built (inside the build's transaction).
    `max_mid_age_seconds` sets the models' freshest-mid limit (the `max_mid_age_seconds()` macro; default 60)."""
    sql_dir = Path(sql_dir) if sql_dir else SQL_DIR
    con.execute("set TimeZone = 'UTC'")
    if max_mid_age_seconds is not None:
        con.execute(f"set variable max_mid_age_seconds = {int(max_mid_age_seconds)}")
    con.execute(
        "set parquet_metadata_cache = true"
    )  # the src_ views bind twice per build (snapshot, then glob)
    lake_root = _register_filesystem(con, str(lake_root))
    phases: dict[str, float] = {}
    checked_ok = last_tests_ok(con) is True  # the last build's checks passed: the kept models' still pass
    models = build_models(
        con, sql_dir, lake_root, on_model, if_changed=if_changed, full_refresh=full_refresh, phases=phases
    )
    if models is None:
        return BuildResult(skipped=True, phases=phases)
    result = BuildResult(models=models, phases=phases)
    if run_tests_:
        t0 = time.perf_counter()
        kept = {m.name for m in models if m.how == "kept"} if checked_ok else set()
        # recomputed from a day: the rows before it are as when the last checks passed
        recomputed = {m.name: m.rows_where for m in models if m.rows_where} if checked_ok else {}
        whole = {m.name for m in models if m.how == "full"}
        result.tests, result.failures = run_tests(con, sql_dir, kept, recomputed, whole)
        record_tests(con, result.ok)
        phases["checks"] = time.perf_counter() - t0
    if os.environ.get("KALSHI_BUILD_TIMING"):
        print(timing_report(result), file=sys.stderr)
    return result


def build(
    settings_or_lake_dir,
    db_path: str | None = None,
    run_tests: bool = True,
    sql_dir: Path | None = None,
    on_model=None,
    lock_timeout: float = BUILD_LOCK_SECONDS,
    if_changed: bool = False,
    max_mid_age_seconds: int | None = None,
    full_refresh: bool = False,
) -> BuildResult:
    """Build `sql/` into `<lake_dir>/kalshi.duckdb` (or `db_path`) and run `sql/tests`. Idempotent.

    One build per warehouse file at a time: a second waits up to `lock_timeout` s, then raises WarehouseError.
    `if_changed=True`: when neither the lake's files nor the model files changed since the last build (whose
    checks passed), do nothing and return a result with `skipped` set. `max_mid_age_seconds` (else the settings'
    `max_mid_age_seconds`, else the macro's default of 60 s) is how old a REST quote may be and still be a mid.
    Otherwise models whose inputs did not change are kept and incremental models recompute only the days the lake's
    new or removed files touch (`incremental.py`); `full_refresh=True` rebuilds every model from the whole lake."""
    if max_mid_age_seconds is None:
        max_mid_age_seconds = getattr(settings_or_lake_dir, "max_mid_age_seconds", None)
    lake_root, default_db = _paths(settings_or_lake_dir)
    db = _local_db(str(db_path or default_db))
    if db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    with build_lock(db, lock_timeout):
        con = _connect(db)
        try:
            result = build_on(
                con, lake_root, run_tests, sql_dir, on_model, if_changed, max_mid_age_seconds, full_refresh
            )
        finally:
            con.close()
    result.db_path = db
    return result


def build_in_memory(lake_root, run_tests: bool = False, sql_dir: Path | None = None):
    """Build the same models in an in-memory DuckDB and return the open connection.

    With `run_tests=True` a failed check raises `WarehouseError` (naming the test and its rows).
    """
    con = _connect(":memory:")
    result = build_on(con, str(lake_root), run_tests, sql_dir)
    result.raise_for_failures()
    return con


def connect(db_path: str | None = None, read_only: bool = True):
    """Open the built warehouse (default `<KALSHI_LAKE_DIR>/kalshi.duckdb` from Settings)."""
    if db_path is None:
        from kalshi_extract.settings import Settings

        db_path = str(Settings.load().warehouse_path)
    db_path = _local_db(str(db_path))
    if db_path != ":memory:" and not Path(db_path).exists():
        raise WarehouseError(f"no warehouse at {db_path}: run `kalshi-lake build` first")
    return _connect(db_path, read_only=read_only)
