"""Discover the `sql/` models, order them by their references, build them, run the `sql/tests` checks.

Layout: `sql/macros.sql` (DuckDB macros the models use, created first), `sql/sources.toml` (lake streams -> `src_<stream>` views),
then three layers of models: `sql/staging/*.sql` (tables, one per stream, built from one snapshot of the lake), `sql/intermediate/*.sql` (`int_` tables:
steps shared by marts) and `sql/marts/*.sql` (`fct_`/`dim_` tables); `sql/tests/*.sql` are queries that must return
zero rows; `sql/table_macros.sql` (table macros over the models, e.g. `book_at`) is created after the last
model, in the same transaction (DuckDB binds a macro's tables at creation, and a macro stored in the database
file reaches every later connection). A model's file name is its name; its body is one `select` (CTEs allowed).
Dependencies are read from the SQL itself: a model depends on every other model or source whose name appears in
its text as a whole word outside comments and strings; the build order is a topological sort (ties broken by
layer, then name). A model may reference only models of its own or a lower layer (staging < intermediate <
marts; staging reads only the `src_` views): an upward reference or a cycle is an error.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from . import incremental, key_hashes
from .carries import Carries
from .errors import ModelError, ModelTestsFailed, WarehouseError
from .file_schemas import FileSchemas
from .snapshot import SnapshotMoved, take_snapshot
from .sources import load_sources, source_views

MAX_FAILURE_ROWS = 20
LAYERS = ("staging", "intermediate", "marts")  # lowest first: a model reads only its own layer and lower ones
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r"'(?:[^']|'')*'")


@dataclass(frozen=True)
class Model:
    name: str
    layer: str  # one of LAYERS
    path: Path
    sql: str

    @property
    def incremental(self) -> incremental.Spec | None:
        """The model's `-- incremental:` declaration (see `incremental.py`), or None: rebuilt whole when changed."""
        try:
            return incremental.parse_spec(self.sql)
        except incremental.SpecError as exc:
            raise ModelError(self.name, self.path, str(exc)) from None

    @property
    def kind(self) -> str:
        return "table"  # staging too: each stream is read and deduplicated once per build, from its snapshot


@dataclass
class ModelResult:
    name: str
    kind: str
    rows: int
    seconds: float
    how: str = "full"  # full | incremental (days >= `since` recomputed) | kept (its inputs were unchanged)
    since: str | None = None
    why: str | None = None  # how == "full": what made it rebuild whole (the changed inputs, or "new")
    # how == "incremental" by day: a predicate true of every row this build deleted or inserted (the rest of the
    # table is as the last build left it); None when every row may have changed
    rows_where: str | None = None


@dataclass
class TestResult:
    name: str
    failing_rows: int
    seconds: float
    skipped: bool = (
        False  # not run: it reads only models this build kept unchanged, and they passed last build
    )
    restricted: bool = False  # a uniqueness check run only over the keys of the rows this build recomputed
    hashed: bool = False  # ... reading the model's key hashes first (`key_hashes.py`)

    @property
    def passed(self) -> bool:
        return self.failing_rows == 0


@dataclass
class TestFailure:
    """A `sql/tests` check that returned rows: its name, the row count and the first rows (as dicts)."""

    name: str
    path: Path
    failing_rows: int
    columns: list[str]
    rows: list[tuple]

    def __str__(self) -> str:
        lines = [f"test {self.name} failed: {self.failing_rows} offending row(s) ({self.path})"]
        lines.append("  " + " | ".join(self.columns))
        for row in self.rows:
            lines.append("  " + " | ".join("NULL" if v is None else str(v) for v in row))
        if self.failing_rows > len(self.rows):
            lines.append(f"  ... {self.failing_rows - len(self.rows)} more")
        return "\n".join(lines)


@dataclass
class BuildResult:
    """What `build` did: models built (in order), tests run, and the failing tests."""

    models: list[ModelResult] = field(default_factory=list)
    tests: list[TestResult] = field(default_factory=list)
    failures: list[TestFailure] = field(default_factory=list)
    db_path: str | None = None
    skipped: bool = False  # `if_changed` and the lake and models were as at the last build: nothing was done
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase of the build (`timing_report`)

    @property
    def ok(self) -> bool:
        return not self.failures

    def raise_for_failures(self) -> None:
        """Raise `ModelTestsFailed` listing every failed check with its offending rows."""
        if self.failures:
            raise ModelTestsFailed("\n".join(str(f) for f in self.failures))

    @property
    def tests_skipped(self) -> int:
        """Checks not run because they read only models this build kept unchanged (and passed last build)."""
        return sum(t.skipped for t in self.tests)

    def __str__(self) -> str:
        if self.skipped:
            return "the lake and the models are unchanged since the last build: nothing to do"
        ran = len(self.tests) - self.tests_skipped
        head = f"built {len(self.models)} models, ran {ran} tests, {len(self.failures)} failed"
        if self.tests_skipped:
            head += f" ({self.tests_skipped} tests skipped: they read only models kept unchanged)"
        return "\n".join([head, *(str(f) for f in self.failures)])


class Phases:
    """Seconds per phase of a build, added up into `into` (`BuildResult.phases`): `lap(name)` charges the time
    since the previous lap to `name`."""

    def __init__(self, into: dict[str, float] | None = None):
        self.into = {} if into is None else into
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.into[name] = self.into.get(name, 0.0) + now - self.t
        self.t = now


def timing_report(result: BuildResult) -> str:
    """The build's phases and models by time (what `KALSHI_BUILD_TIMING=1` prints on stderr)."""
    lines = ["build phases (s): " + ", ".join(f"{k} {v:.3f}" for k, v in result.phases.items())]
    for how in ("kept", "incremental", "full"):
        ms = [m for m in result.models if m.how == how]
        if ms:
            lines.append(f"  {how}: {len(ms)} models {sum(m.seconds for m in ms):.3f} s")
    for m in sorted(result.models, key=lambda m: -m.seconds):
        if m.how != "kept":
            extra = f" since {m.since}" if m.since else f" ({m.why})" if m.why else ""
            lines.append(f"    {m.name:<36} {m.how:<11} {m.seconds:7.3f} s{extra}")
    if result.tests:
        lines.append(
            f"  checks: {len(result.tests) - result.tests_skipped} run "
            f"({sum(t.restricted for t in result.tests)} over recomputed keys only, "
            f"{sum(t.hashed for t in result.tests)} of them through key hashes), "
            f"{result.tests_skipped} skipped"
        )
    for t in sorted(result.tests, key=lambda t: -t.seconds)[:10]:
        lines.append(f"    check {t.name:<30} {t.seconds:7.3f} s")
    return "\n".join(lines)


def _strip(sql: str) -> str:
    return _STRING.sub("''", _COMMENT.sub(" ", sql))


def _body(path: Path) -> str:
    text = path.read_text(encoding="utf-8").strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    return text


def discover(sql_dir: Path) -> list[Model]:
    models = []
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            models.append(Model(path.stem, layer, path, _body(path)))
    names = [m.name for m in models]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise WarehouseError(f"duplicate model names in {sql_dir}: {sorted(dupes)}")
    return models


def references(model: Model, names: set[str]) -> set[str]:
    """The names out of `names` that `model` reads: whole words of its SQL outside comments and strings."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _strip(model.sql).lower()))
    return {w for w in words if w in names and w != model.name}


def order_models(models: list[Model]) -> list[Model]:
    """Topologically sort models by the names they reference; reject cycles and upward references."""
    by_name = {m.name: m for m in models}
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    graph: dict[str, set[str]] = {}
    for m in models:
        deps = references(m, set(by_name))
        if m.layer == "staging" and deps:
            raise ModelError(m.name, m.path, f"a staging model may read only src_ views, not {sorted(deps)}")
        upward = sorted(d for d in deps if rank[by_name[d].layer] > rank[m.layer])
        if upward:
            raise ModelError(
                m.name,
                m.path,
                f"a model in {m.layer}/ may read only its own or lower layers ({' < '.join(LAYERS)}), "
                f"not {', '.join(f'{d} ({by_name[d].layer})' for d in upward)}",
            )
        graph[m.name] = deps
    ts = TopologicalSorter(graph)
    try:
        ts.prepare()
    except CycleError as exc:
        raise WarehouseError(f"models reference each other in a cycle: {exc.args[1]}") from None
    ordered: list[Model] = []
    while ts.is_active():
        ready = sorted(ts.get_ready(), key=lambda n: (rank[by_name[n].layer], n))
        for n in ready:
            ordered.append(by_name[n])
            ts.done(n)
    return ordered


def _existing_kinds(con) -> dict[str, str]:
    """Each view and table of the main schema: its kind ('view' or 'table'), read once per build."""
    return dict(
        con.execute(
            "select view_name, 'view' from duckdb_views() where schema_name = 'main' and not internal "
            "union all select table_name, 'table' from duckdb_tables() where schema_name = 'main'"
        ).fetchall()
    )


def build_models(
    con,
    sql_dir: Path,
    lake_root: str,
    on_model: Callable[[ModelResult], None] | None = None,
    attempts: int = 3,
    if_changed: bool = False,
    full_refresh: bool = False,
    phases: dict[str, float] | None = None,
) -> list[ModelResult] | None:
    """Take one snapshot of the lake, then create macros, source views, every model and the table macros from it
    in one transaction (all or nothing). `on_model` is called after each model (progress; tests inject commits
    with it). A snapshot file compacted away before the staging tables read it starts the build over.

    Every build records its snapshot's fingerprint (lake files and model files) in the table `_kalshi_build`. With
    `if_changed`, a build whose fingerprint equals the recorded one (and whose checks passed, when it ran them)
    does nothing and returns None. Otherwise only what changed is rebuilt (`incremental.py`) unless `full_refresh`."""
    if not (sql_dir / "sources.toml").is_file():
        raise WarehouseError(
            f"no models at {sql_dir} (sources.toml missing): pass the folder that holds sources.toml, staging/, "
            "intermediate/ and marts/, or reinstall kalshi-lake (its wheel ships them)"
        )
    sources = load_sources(sql_dir / "sources.toml")
    models = order_models(discover(sql_dir))
    views = {s.view for s in sources}
    names = {m.name for m in models} | views
    deps = {m.name: references(m, names) for m in models}
    for m in models:
        spec = m.incremental
        if spec is not None and set(spec.inputs) != deps[m.name]:
            raise ModelError(
                m.name,
                m.path,
                f"its '-- incremental:' lines declare {sorted(spec.inputs)} but it reads {sorted(deps[m.name])}",
            )
    hashed = _key_hash_plan(sql_dir, models)
    clock = Phases(phases)
    clock.lap("discover")
    for attempt in range(1, attempts + 1):
        snap = take_snapshot(con, lake_root, [s.stream for s in sources])
        key = snap.fingerprint(sql_dir) + _build_variables(con)
        clock.lap("snapshot")
        if if_changed and _last_build(con) == (key, True):
            return None
        try:
            return _build_snapshot(
                con, sql_dir, sources, models, deps, snap, on_model, key, full_refresh, clock, hashed
            )
        except SnapshotMoved as exc:
            if attempt == attempts:
                raise WarehouseError(f"{exc} ({attempts} attempts)") from exc.__cause__
    raise AssertionError("unreachable")


def _moved(snap, exc: Exception) -> None:
    """Raise SnapshotMoved (from `exc`) when files of the snapshot are gone: the failure was the compaction's."""
    gone = snap.missing()
    if gone:
        raise SnapshotMoved(
            f"{gone[0]} (and {len(gone) - 1} more) of the build's lake snapshot was compacted away while the build "
            "read it; build again when the compaction is done"
        ) from exc


BUILD_TABLE = incremental.BUILD_TABLE


def _build_variables(con) -> str:
    """The build settings the models read (`max_mid_age_seconds`), as part of the fingerprint: another value is
    another build ("" when unset, so a default build's fingerprint is the files' alone)."""
    value = con.execute("select getvariable('max_mid_age_seconds')").fetchone()[0]
    return "" if value is None else f";max_mid_age_seconds={value}"


def _last_build(con) -> tuple[str, bool] | None:
    """(fingerprint, checks passed or not run) of the last build recorded in this database, or None."""
    try:
        row = con.execute(f"select fingerprint, coalesce(tests_ok, true) from {BUILD_TABLE}").fetchone()
    except Exception:  # no such table: never built with a recorded fingerprint
        return None
    return (row[0], bool(row[1])) if row else None


def last_tests_ok(con) -> bool | None:
    """Whether the checks after the last recorded build passed (None: not run, or no build recorded)."""
    try:
        row = con.execute(f"select tests_ok from {BUILD_TABLE}").fetchone()
    except Exception:  # noqa: BLE001 (no such table: never built with a recorded fingerprint)
        return None
    return row[0] if row else None


def record_tests(con, ok: bool) -> None:
    """Record whether the checks after the last build passed (a failed build is never skipped)."""
    con.execute(f"update {BUILD_TABLE} set tests_ok = ?", [ok])


def _key_hash_plan(sql_dir: Path, models: list[Model]) -> dict[str, list[key_hashes.KeyHashes]]:
    """The key-hash companions (`key_hashes.py`) the build keeps: one per standard uniqueness check of an
    incremental model whose day is not a function of the check's key."""
    by_name = {m.name: m for m in models}
    plan: dict[str, list[key_hashes.KeyHashes]] = {}
    for path in sorted((sql_dir / "tests").glob("*.sql")):
        check = unique_check(path.read_text(encoding="utf-8"))
        model = by_name.get(check[0]) if check else None
        spec = model.incremental if model else None
        if spec is None or spec.all_rows:
            continue
        # the predicate a recompute from any day writes (only its columns matter here)
        predicate = incremental.rows_since(spec, 1.0)
        if not day_in_key(predicate, check[1]):
            plan.setdefault(model.name, []).append(key_hashes.for_check(model.name, check[1], predicate))
    return plan


def _write_key_hashes(con, result: ModelResult, companions, trusted: set[str], written: set[str]) -> None:
    """Bring the model's key-hash companions in line with its table after its build step (`key_hashes.write`);
    a companion whose predicate columns the table lacks is not kept (its check reads the keys)."""
    columns = {d[0].lower() for d in con.execute(f"select * from {result.name} limit 0").description}
    for kh in companions:
        if set(kh.columns) <= columns:
            key_hashes.write(con, kh, result.how, result.rows_where, kh.table in trusted)
            written.add(kh.table)


def _build_snapshot(
    con, sql_dir, sources, models, deps, snap, on_model, key, full_refresh, clock: Phases, hashed
) -> list[ModelResult]:
    results: list[ModelResult] = []
    con.execute("begin transaction")
    try:
        macros = sql_dir / "macros.sql"
        if macros.exists():
            con.execute(macros.read_text(encoding="utf-8"))
        clock.lap("macros")
        live_views = []
        try:
            file_rows = incremental.file_rows(snap)
        except OSError as exc:  # a file compacted away since the snapshot
            _moved(snap, exc)
            raise
        schemas = FileSchemas(con)
        for s in sources:
            try:
                snapshot_view, live_view = source_views(
                    con,
                    s,
                    snap.lake_root,
                    snap.files[s.stream],
                    snap.hidden[s.stream],
                    schemas.of(con, [r for r in file_rows if r[0] == s.stream]),
                )
                con.execute(snapshot_view)
            except Exception as exc:  # duckdb raises many types; report which stream
                _moved(snap, exc)
                raise WarehouseError(
                    f"cannot read lake stream {s.stream!r} under {snap.lake_root}: {exc}"
                ) from exc
            live_views.append(live_view)
        clock.lap("source_views")
        types = incremental.source_types(con)
        columns = incremental.source_columns(types, snap.files)
        probes = incremental.Probes(con, types, {s.view for s in sources if not snap.files[s.stream]})
        by_stream, changes, everything = incremental.source_dirt(
            con, snap, sql_dir, full_refresh, columns, file_rows
        )
        dirt = {s.view: by_stream[s.stream] for s in sources}
        new_files = {s.view: changes[s.stream] for s in sources if s.stream in changes}
        diffed = {d for m in models if m.incremental for d, r in m.incremental.inputs.items() if r.diff}
        olds: set[str] = set()
        kinds = _existing_kinds(con)
        trusted, written = key_hashes.written_by_last_build(con, set(kinds)) & set(kinds), set()
        carries = Carries(con, set(kinds), dirt)
        clock.lap("source_dirt")
        for m in models:
            t0 = time.perf_counter()
            try:
                result = _build_model(
                    con,
                    m,
                    deps[m.name],
                    dirt,
                    diffed,
                    olds,
                    new_files,
                    probes,
                    carries,
                    kinds.get(m.name),
                    not everything,
                )
                kinds[m.name] = m.kind
            except Exception as exc:
                if m.layer == "staging":  # only staging reads the lake
                    _moved(snap, exc)
                raise ModelError(m.name, m.path, str(exc)) from exc
            if m.name in hashed:
                _write_key_hashes(con, result, hashed[m.name], trusted, written)
            result.seconds = time.perf_counter() - t0
            results.append(result)
            if on_model is not None:
                on_model(result)
        incremental.drop_carried(con)
        clock.lap("models")
        for name in olds:
            con.execute(f"drop table {incremental.old_table(name)}")
        incremental.record(con, snap, sql_dir, file_rows, columns)
        schemas.record(con)
        key_hashes.record(con, written, set(kinds))
        carries.record(con)
        clock.lap("record")
        con.execute(
            f"create or replace table {BUILD_TABLE} as select ?::varchar as fingerprint, "
            "now() as built_at, null::boolean as tests_ok",
            [key],
        )
        # every model is built from the snapshot: the src_ views go back to reading the lake as it is
        for view in live_views:
            con.execute(view)
        table_macros = sql_dir / "table_macros.sql"
        if table_macros.exists():
            try:
                con.execute(table_macros.read_text(encoding="utf-8"))
            except Exception as exc:
                raise ModelError("table_macros", table_macros, str(exc)) from exc
        clock.lap("views_and_table_macros")
        con.execute("commit")
        clock.lap("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return results


def _build_model(
    con,
    m: Model,
    deps: set[str],
    dirt: dict[str, float],
    diffed: set[str],
    olds: set[str],
    new_files: dict[str, incremental.NewFiles],
    probes: incremental.Probes,
    carries: Carries,
    old: str | None,
    compare_small: bool = False,
) -> ModelResult:
    """Keep, recompute from a day, or rebuild `m` whole (see `incremental.py`); sets `dirt[m.name]`. A table some
    model reads with `diff` is kept aside (`incremental.old_table`, name added to `olds`) when rebuilt whole. `old`:
    the kind of what the warehouse holds under its name (None: nothing). `compare_small` (not a rebuild of
    everything): a table of at most `SAME_ROWS` rows rebuilt whole is compared with its previous one, and when equal
    it is unchanged (+inf) for the models that read it."""
    spec = m.incremental
    day = (
        incremental.plan(con, spec, deps, dirt, olds, m.name, new_files, probes, carries)
        if old == m.kind
        else incremental.NEG
    )
    if day == incremental.POS:
        dirt[m.name] = day
        rows = con.execute(f"select count(*) from {m.name}").fetchone()[0]
        return ModelResult(m.name, m.kind, rows, 0.0, "kept")
    if day != incremental.NEG:
        rows, changed = incremental.recompute(con, m, spec, deps, day, probes, carries)
        if rows >= 0:
            # an `instant` model's readers see the instant it was recomputed from (a reader by day floors it); other
            # models recompute whole days; a recompute that changed no row leaves its readers' inputs as they were
            dirt[m.name] = (day if spec.instant else float(math.floor(day))) if changed else incremental.POS
            since = incremental.day_literal(day).split("'")[1]
            where = None if spec.all_rows else incremental.rows_since(spec, day)
            return ModelResult(m.name, m.kind, rows, 0.0, "incremental", since, rows_where=where)
    why = (
        "new"
        if old != m.kind
        else "not incremental: "
        if spec is None
        else "rows without a day: "
        if day != incremental.NEG
        else "changed: "
    )
    if old == m.kind:
        why += ", ".join(
            f"{d}{'' if dirt.get(d, incremental.NEG) == incremental.NEG else ' (days)'}"
            for d in sorted(deps)
            if dirt.get(d, incremental.NEG) != incremental.POS
        )
    # compare with the previous table: only when this build is not a rebuild of everything, and the table is
    # small or read with `diff` (the rows of a failed recompute are not the previous table)
    compare = (
        old == "table"
        and compare_small
        and day == incremental.NEG
        and con.execute(f"select count(*) from {m.name}").fetchone()[0] <= SAME_ROWS
    )
    if old and old != m.kind:
        con.execute(f"drop {old} {m.name}")
    elif old == "table" and (m.name in diffed or compare):
        con.execute(f"alter table {m.name} rename to {incremental.old_table(m.name)}")
        olds.add(m.name)
    con.execute(f"create or replace {m.kind} {m.name} as\n{m.sql}")
    rows = con.execute(f"select count(*) from {m.name}").fetchone()[0] if m.kind == "table" else -1
    if spec is not None and spec.never_null and not spec.all_rows:  # the promise a recompute relies on
        dayless = con.execute(
            f"select count(*) from {m.name} where {incremental.null_day(spec.day)}"
        ).fetchone()[0]
        if dayless:
            raise WarehouseError(
                f"its '-- incremental: day = {spec.day}, never null' is broken: {dayless} row(s) have a null day"
            )
    dirt[m.name] = incremental.NEG
    if compare and _same_table(con, m.name, incremental.old_table(m.name)):
        # rebuilt, and came out as it was: the models that read it may be kept, and so is its previous table (the
        # commit then writes nothing of it)
        con.execute(f"drop table {m.name}")
        con.execute(f"alter table {incremental.old_table(m.name)} rename to {m.name}")
        olds.discard(m.name)
        dirt[m.name] = incremental.POS
        why += "; came out unchanged"
    return ModelResult(m.name, m.kind, rows, 0.0, why=why)


SAME_ROWS = 200_000  # a table rebuilt whole with at most this many rows is compared with its previous table


def _same_table(con, a: str, b: str) -> bool:
    """Whether tables `a` and `b` have the same columns (names, types, order) and the same rows (as multisets)."""
    cols = dict(
        con.execute(
            "select table_name, list(column_name || ' ' || data_type order by column_index) from duckdb_columns() "
            "where schema_name = 'main' and table_name in (?, ?) group by table_name",
            [a, b],
        ).fetchall()
    )
    if cols.get(a) != cols.get(b):
        return False
    n = con.execute(f"select count(*) from ({incremental.differing_rows(a, b)})").fetchone()[0]
    return n == 0


_MACRO = re.compile(r"\bcreate\s+(?:or\s+replace\s+)?macro\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)


def _macro_bodies(sql_dir: Path) -> dict[str, str]:
    """Each macro of `macros.sql` / `table_macros.sql` with the text up to the next macro (what it reads)."""
    bodies: dict[str, str] = {}
    for f in ("macros.sql", "table_macros.sql"):
        p = sql_dir / f
        text = _strip(p.read_text(encoding="utf-8")) if p.exists() else ""
        starts = list(_MACRO.finditer(text))
        for i, a in enumerate(starts):  # (no macros at all: nothing)
            end = starts[i + 1].start() if i + 1 < len(starts) else None
            bodies[a.group(1).lower()] = bodies.get(a.group(1).lower(), "") + text[a.end() : end]
    return bodies


def relations(con) -> set[str]:
    """The names of the tables and views of the database's main schema."""
    return {
        r[0].lower()
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main' union all "
            "select view_name from duckdb_views() where schema_name = 'main' and not internal"
        ).fetchall()
    }


def check_reads(sql: str, relations: set[str], macros: dict[str, str]) -> set[str]:
    """The tables and views out of `relations` (models, sources, any other) that a check's SQL reads: whole words
    of it, and of the macros (`_macro_bodies`) it calls, transitively."""
    words = _words(sql)
    todo = [w for w in words if w in macros]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        inner = _words(macros[name])
        words |= inner
        todo += [w for w in inner if w in macros]
    return words & relations


def _words(sql: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", _strip(sql).lower()))


_UNIQUE = re.compile(r"--\s*(\w+):\s*key \((.+)\) unique and not null")


_split_top = incremental.split_top


def unique_check(sql: str) -> tuple[str, list[str]] | None:
    """(model, key expressions) of a check that is exactly the standard uniqueness check its first line names
    (`-- <model>: key (<exprs>) unique and not null`, then the body `unique_check_sql` writes), else None."""
    m = _UNIQUE.match(sql.strip())
    if not m:
        return None
    model, keys = m.group(1), _split_top(m.group(2))
    plain = [k for k in keys if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)]
    if not plain:
        return None
    expected = unique_check_sql(model, keys)
    return (model, keys) if " ".join(sql.split()) == " ".join(expected.split()) else None


def unique_check_sql(model: str, keys: list[str], rows_where: str | None = None) -> str:
    """The standard uniqueness check of `model` over `keys` (duplicate keys, then rows with a null plain-column
    key). With `rows_where` (true of every row the build deleted or inserted; the other rows passed the check last
    build and are untouched): the same answer from the rows whose key is a recomputed row's key. Exact: a
    duplicate among untouched rows alone cannot exist, so any duplicate has a recomputed row and shows in its key;
    a null key can only be in a recomputed row. Keys match null-safely (`is not distinct from`)."""
    ks = ", ".join(keys)
    nulls = _null_keys(keys)
    if rows_where is None:
        return (
            f"-- {model}: key ({ks}) unique and not null\n"
            f"select {ks}, count(*) as n\nfrom {model}\ngroup by all\nhaving count(*) > 1\nunion all\n"
            f"select {ks}, 1 as n\nfrom {model}\nwhere {nulls}"
        )
    aliased = ", ".join(f"{k} as _k{i}" for i, k in enumerate(keys))
    on = " and ".join(f"a._k{i} is not distinct from b._k{i}" for i in range(len(keys)))
    named = ", ".join(f'_k{i} as "{k.replace(chr(34), "")}"' for i, k in enumerate(keys))
    return (
        f"with recomputed as (select distinct {aliased} from {model} where {rows_where}),\n"
        f"candidates as (select * from (select {aliased} from {model}) as a semi join recomputed as b on {on})\n"
        f"select {named}, count(*) as n from candidates group by all having count(*) > 1\nunion all\n"
        + null_keys_sql(model, keys, rows_where)
    )


def _null_keys(keys: list[str]) -> str:
    return " or ".join(f"{k} is null" for k in keys if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k))


def null_keys_sql(model: str, keys: list[str], rows_where: str) -> str:
    """The null-key part of the restricted uniqueness check: the rows matching `rows_where` with a null plain-column
    key (what is left to run when the key hashes show no recomputed key twice, `key_hashes.duplicate_hashes`)."""
    return f"select {', '.join(keys)}, 1 as n\nfrom {model}\nwhere ({rows_where}) and ({_null_keys(keys)})"


_ROWS_CHECK = re.compile(r"^--\s*check:\s*each row of\s+([A-Za-z_][A-Za-z0-9_]*)\s*$", re.M)


def row_check(sql: str, reads: set[str]) -> str | None:
    """The model of a check declared `-- check: each row of <model>` that reads that model alone: each row it returns
    is a row of the model failing a test of its own columns, so the rows a build did not touch (and that passed last
    build) cannot fail it now. None for any other check."""
    m = _ROWS_CHECK.search(sql)
    return m.group(1).lower() if m and reads == {m.group(1).lower()} else None


def day_in_key(rows_where: str, keys: list[str]) -> bool:
    """Whether the columns of `rows_where` (a recomputed model's `(<day expr>) >= date '...'`) are all plain key
    columns: rows with equal keys then have the same day, so a duplicate of a recomputed row's key is itself a
    recomputed row and the uniqueness check needs only those rows (null-equal keys give the same day too)."""
    words = incremental.predicate_columns(rows_where)
    plain = {k.lower() for k in keys if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)}
    return bool(words) and words <= plain


def _check_result(con, body: str):
    """A check's columns, up to MAX_FAILURE_ROWS + 1 of its rows, and its row count (counted only when more)."""
    cur = con.execute(body)
    columns = [d[0] for d in cur.description]
    rows = cur.fetchmany(MAX_FAILURE_ROWS + 1)
    n = len(rows)
    if n > MAX_FAILURE_ROWS:
        n = con.execute(f"select count(*) from ({body})").fetchone()[0]
    return columns, rows, n


def _shadowed(con, model: str, rows_where: str, body: str):
    """Run `body` with `model` shadowed by a temp view of its rows matching `rows_where` (the rows a build
    recomputed); returns `_check_result` of it."""
    db = con.execute("select current_database()").fetchone()[0]
    con.execute(
        f'create or replace temp view {model} as select * from "{db}".main.{model} where {rows_where}'
    )
    try:
        return _check_result(con, body)
    finally:
        con.execute(f"drop view if exists temp.{model}")


def run_tests(
    con,
    sql_dir: Path,
    unchanged: set[str] = frozenset(),
    recomputed: dict[str, str] | None = None,
    whole: set[str] = frozenset(),
) -> tuple[list[TestResult], list[TestFailure]]:
    """Run every `sql/tests/*.sql`; each must return zero rows. A check that reads only tables named in
    `unchanged` (models this build kept, whose checks passed last build) cannot change: it is skipped (a
    TestResult with `skipped` set). A check that reads no relation, or any relation not in `unchanged` (a source
    view reading the lake as it is now, a model rebuilt or recomputed, a table written outside the build), runs.
    `recomputed` (model -> a predicate true of every row the build deleted or inserted, the rest untouched since
    checks that passed): a standard uniqueness check of such a model (`unique_check`) runs over the keys of those
    rows only (`unique_check_sql`; the result's `restricted` set): when the model's day is a function of the key
    columns (`day_in_key`), over the recomputed rows alone. A check declared `-- check: each row of <model>`
    (`row_check`) runs over that model's recomputed rows alone (the model shadowed by a temp view of them). A
    restricted uniqueness check whose model has key hashes the last build wrote (`key_hashes.py`) reads those
    first, and only when a recomputed key's hash shows twice the model's keys (the result's `hashed` set); so does
    the whole uniqueness check of a model in `whole` (rebuilt whole by this build, its companion with it)."""
    results, failures = [], []
    names, macros = (relations(con), _macro_bodies(sql_dir)) if unchanged or recomputed else (set(), {})
    companions = (
        key_hashes.written_by_last_build(con, names or relations(con)) if recomputed or whole else set()
    )
    for path in sorted((sql_dir / "tests").glob("*.sql")):
        body = _body(path)
        reads = check_reads(body, names, macros) if names else set()
        if unchanged and reads and reads <= unchanged:
            results.append(TestResult(path.stem, 0, 0.0, skipped=True))
            continue
        restricted, shadow, hashes, rows_where = False, None, None, None
        text = path.read_text(encoding="utf-8") if recomputed or whole else ""
        check = unique_check(text) if text else None
        if recomputed:
            each = row_check(text, reads)
            if check and recomputed.get(check[0]):
                restricted, rows_where = True, recomputed[check[0]]
                if day_in_key(rows_where, check[1]):
                    shadow = check[0]
                else:
                    body = unique_check_sql(*check, rows_where)
                    kh = key_hashes.for_check(*check, rows_where)
                    hashes = kh if kh.table in companions else None
            elif each and recomputed.get(each):
                restricted, shadow = True, each
        if check and not restricted and check[0] in whole:
            hashes = key_hashes.find(con, *check, companions)
        t0 = time.perf_counter()
        try:
            if hashes and key_hashes.duplicate_hashes(con, hashes, rows_where) == 0:
                body = null_keys_sql(hashes.model, list(hashes.keys), rows_where or "true")
            if shadow:
                columns, rows, n = _shadowed(con, shadow, recomputed[shadow], body)
            else:
                columns, rows, n = _check_result(con, body)
        except Exception as exc:
            failures.append(TestFailure(path.stem, path, 1, ["error"], [(str(exc),)]))
            results.append(
                TestResult(
                    path.stem, 1, time.perf_counter() - t0, restricted=restricted, hashed=hashes is not None
                )
            )
            continue
        results.append(
            TestResult(
                path.stem, n, time.perf_counter() - t0, restricted=restricted, hashed=hashes is not None
            )
        )
        if n:
            failures.append(TestFailure(path.stem, path, n, columns, rows[:MAX_FAILURE_ROWS]))
    return results, failures
