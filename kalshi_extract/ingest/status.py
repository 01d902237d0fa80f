"""`kalshi-lake status`: what the lake holds per stream and how fresh it is. Imports no Prefect.

Per stream: rows, the range of partition dates (event date, or load date for snapshot streams), the last run and
its outcome (from the lake's `_runs` log), freshness (time since the newest `_loaded_at`) and gaps: event-time
windows no successful run asked for (from the `_runs` log's selections), and missing partition days between the
first and the last (a day with no trades, or a day nobody pulled a snapshot stream).
Reads Parquet footers and the `_loaded_at` column only, through the lake's filesystem; nothing is written.

Interrupted runs: a pull killed mid-stream (SIGKILL, power loss) has committed files but never wrote its `_runs`
row. The lake itself still says what is there: `rows`, `first`/`last` and `data_start`/`data_end` (min/max of the
stream's time column, from the Parquet footers' statistics) come from the files, and the `_run_id` of each file
(footer statistics too) names the runs that landed data. Data from a run with no run-log row that is newer than
the last logged run makes that run the stream's last run with `last_outcome` "interrupted" (it stopped before
recording, or is still running); `interrupted_runs` lists every such run. Streams the pull does not write
(order_events: the order journal; the recorder's ws_* and the live runner's live_* streams, listed when present) are
not judged this way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

MAX_GAPS = 50


def _streams(lake) -> list[str]:
    """Every pulled stream, then the streams kalshi-lake writes itself (the order journal always; the recorder's
    `ws_*` and the live runner's `live_*` when the lake has them)."""
    from kalshi_extract.ingest.streams import STREAM_NAMES
    from kalshi_extract.lake.schemas import LIVE_STREAMS, ORDER_EVENTS_STREAM, WS_STREAMS

    names = [*STREAM_NAMES, ORDER_EVENTS_STREAM]
    return names + [s for s in (*WS_STREAMS, *LIVE_STREAMS) if lake.files(s)]


def _stream_clock(stream: str) -> tuple[str | None, str]:
    """(the column whose time dates the stream's rows, and its clock: "exchange" or "local").

    "exchange": the time the exchange states (an event time, the ``Date`` of a snapshot's response, a WebSocket
    message's time, the order journal's exchange-clock stamp); the local exchange's simulated clock may be days or
    years from this machine's. "local": this machine's clock (the reference streams are dated by the day they were
    loaded; the recorder's coverage log and the live runner's streams by when things happened here)."""
    from kalshi_extract.ingest.recorder_dates import DATE_COLUMNS, LOCAL_CLOCK_STREAMS
    from kalshi_extract.ingest.streams import STREAMS
    from kalshi_extract.lake.schemas import ORDER_EVENTS_STREAM

    sdef = STREAMS.get(stream)
    if sdef is not None:
        column = sdef.time_column or sdef.date_column
        return column, "exchange" if sdef.date_column else "local"
    if stream == ORDER_EVENTS_STREAM:  # dated by the exchange's day; its `ts` is this machine's clock
        return None, "exchange"
    if stream in DATE_COLUMNS and stream not in LOCAL_CLOCK_STREAMS:
        return DATE_COLUMNS[stream], "exchange"
    return None, "local"


def _age(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 0:
        return "0s"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def _missing_days(days: list[date]) -> list[dict[str, str]]:
    """Runs of missing calendar days between consecutive present days."""
    gaps = []
    for a, b in zip(days, days[1:], strict=False):
        if (b - a).days > 1:
            gaps.append(
                {
                    "kind": "no data",
                    "from": (a + timedelta(days=1)).isoformat(),
                    "to": (b - timedelta(days=1)).isoformat(),
                }
            )
    return gaps[:MAX_GAPS]


def _column_stats(row_group, index: dict[str, int], names: list[str]) -> dict[str, dict[str, Any]]:
    """{column: {"min", "max"}} of a row group's footer statistics, for ``names`` only (``RowGroupInfo.statistics``
    converts every column's, which is most of the cost of a status on a lake of many small files)."""
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        i = index.get(name)
        stats = row_group.column(i).statistics if i is not None else None
        if stats is not None and stats.has_min_max:
            out[name] = {"min": stats.min, "max": stats.max}
    return out


def _runs_of_group(pf, group: int, has_loaded: bool) -> list[tuple[str, int, datetime | None]]:
    """(run id, rows, newest `_loaded_at`) of each run in one row group (a compacted file holds several), grouped by
    Arrow (``pyarrow.compute``, imported only here). Rows without a `_run_id` are not counted; `_loaded_at` is read
    as microseconds (the lake's ``timestamp[us, UTC]``)."""
    import pyarrow as pa

    columns = ["_run_id"] + (["_loaded_at"] if has_loaded else [])
    table = pf.read_row_group(group, columns=columns)
    cols = {"run": table.column("_run_id").cast(pa.string())}
    aggregates = [("run", "count")]
    if has_loaded:
        cols["loaded"] = table.column("_loaded_at").cast(pa.int64())
        aggregates.append(("loaded", "max"))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    out = []
    for row in pa.table(cols).group_by("run").aggregate(aggregates).to_pylist():
        if row["run"] is None or not row["run_count"]:
            continue
        micros = row.get("loaded_max")
        out.append(
            (row["run"], row["run_count"], None if micros is None else epoch + timedelta(microseconds=micros))
        )
    return out


def _group_run_ids(pf, group: int) -> list[str]:
    """The `_run_id` values a row group's dictionary holds (only the column's dictionary is decoded into Python)."""
    chunks = pf.read_row_group(group, columns=["_run_id"]).column("_run_id")  # read_dictionary=["_run_id"]
    return [
        str(v) for v in chunks.unify_dictionaries().combine_chunks().dictionary.to_pylist() if v is not None
    ]


def _footer_facts(
    lake, files: list[str], time_column: str | None, logged: set[str] | None, schema=None
) -> dict[str, Any]:
    """From the Parquet footers (one read per file, no ``pyarrow.dataset``, no numpy): the row count, min/max of
    `time_column`, the newest `_loaded_at`, per `_run_id` its rows and newest `_loaded_at`, and the files whose
    `_loaded_at` has no statistics.

    A row group whose `_run_id` statistics are not one value (a compacted file) is tallied run by run only when
    that is needed: when its `_loaded_at` has no statistics, or when its `_run_id` dictionary names a run not in
    ``logged`` (the stream's runs in the run log: only runs missing there are reported, as interrupted).
    ``logged`` None: the stream is not judged that way (``data_runs`` then has only the runs of one-run groups).
    ``schema``: the stream's current schema; ``drifts`` lists (path, columns) of the files whose column types
    differ from it (:func:`~kalshi_extract.lake.schema_check.drift_of`), from the same footers.
    """
    import pyarrow.parquet as pq

    from kalshi_extract.lake.schema_check import drift_of

    starts: list[datetime] = []
    ends: list[datetime] = []
    runs: dict[str, dict[str, Any]] = {}
    rows = 0
    newest: list[datetime] = []
    unstated: list[pq.ParquetFile] = []  # files with `_loaded_at` but no statistics for it
    drifts: list[tuple[str, tuple[tuple[str, str, str], ...]]] = []

    def note(run_id: Any, rows: int, loaded: Any) -> None:
        entry = runs.setdefault(str(run_id), {"rows": 0, "loaded_at": None})
        entry["rows"] += rows
        loaded = _parse_time(loaded)
        if loaded is not None:
            newest.append(loaded)
            if entry["loaded_at"] is None or loaded > entry["loaded_at"]:
                entry["loaded_at"] = loaded

    wanted = [c for c in (time_column, "_run_id", "_loaded_at") if c]
    for path in files:
        pf = pq.ParquetFile(lake.fs.open_input_file(path), read_dictionary=["_run_id"])
        meta = pf.metadata
        if schema is not None:
            # the file's own types: ``pf.schema_arrow`` would show `_run_id` read as a dictionary
            columns = drift_of(meta.schema.to_arrow_schema(), schema)
            if columns:
                drifts.append((path, columns))
        index = {meta.schema.column(i).path: i for i in range(meta.num_columns)}
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            rows += group.num_rows
            stats = _column_stats(group, index, wanted)
            if time_column and time_column in stats:
                lo, hi = (
                    _parse_time(stats[time_column].get("min")),
                    _parse_time(stats[time_column].get("max")),
                )
                starts += [lo] if lo else []
                ends += [hi] if hi else []
            has_loaded = "_loaded_at" in index
            loaded_max = (stats.get("_loaded_at") or {}).get("max")
            if has_loaded and "_loaded_at" not in stats and group.num_rows:
                unstated.append(pf)
            run = stats.get("_run_id") or {}
            if run.get("min") is not None and run.get("min") == run.get("max"):
                note(run["min"], group.num_rows, loaded_max)
            elif "_run_id" in index:
                if (has_loaded and "_loaded_at" not in stats) or (
                    logged is not None and not logged.issuperset(_group_run_ids(pf, g))
                ):
                    for run_id, n, loaded in _runs_of_group(pf, g, has_loaded):
                        note(run_id, n, loaded)
                elif _parse_time(loaded_max) is not None:
                    newest.append(_parse_time(loaded_max))
    return {
        "rows": rows,
        "data_start": min(starts).isoformat() if starts else None,
        "data_end": max(ends).isoformat() if ends else None,
        "data_runs": runs,
        "loaded_at": max(newest) if newest else None,
        "unstated": unstated,
        "drifts": drifts,
    }


def _interrupted(data_runs: dict[str, dict[str, Any]], runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs that landed data in the stream but have no run-log row for it, oldest first."""
    logged = {r.get("run_id") for r in runs}
    out = [
        {"run_id": run_id, "rows": info["rows"], "loaded_at": info["loaded_at"]}
        for run_id, info in data_runs.items()
        if run_id not in logged
    ]
    return sorted(out, key=lambda r: (r["loaded_at"] or datetime.min.replace(tzinfo=UTC), r["run_id"]))


def _readable(lake, files: list[str]) -> tuple[list[str], list[str]]:
    """(files whose footer reads, files that are not readable Parquet)."""
    from kalshi_extract.errors import LakeStateError

    good, bad = [], []
    for path in files:
        try:
            lake.open_parquet(path)
            good.append(path)
        except LakeStateError:
            bad.append(path)
    return good, bad


def _scan_stream(
    lake, stream: str, time_column: str | None = None, logged: set[str] | None = None, schema=None
) -> dict[str, Any]:
    """The stream's facts from its files. A damaged file is named in ``corrupt_files`` / ``error`` and left out;
    the rest of the stream is still reported."""
    import pyarrow as pa

    files = lake.files(stream)
    try:
        return _scan_files(lake, stream, files, time_column, logged, schema)
    except (pa.ArrowInvalid, OSError):
        good, bad = _readable(lake, files)
        if not bad:
            raise
    out = _scan_files(lake, stream, good, time_column, logged, schema)
    out["files"] = len(files)
    out["corrupt_files"] = bad
    out["error"] = str(lake.corrupt_file_error(bad[0], "damaged footer")) + (
        f" ({len(bad) - 1} more such files: see corrupt_files)" if len(bad) > 1 else ""
    )
    return out


def _scan_files(
    lake, stream: str, files: list[str], time_column: str | None, logged: set[str] | None = None, schema=None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stream": stream,
        "rows": 0,
        "files": len(files),
        "first": None,
        "last": None,
        "data_start": None,
        "data_end": None,
        "loaded_at": None,
        "gaps": [],
        "data_runs": {},
        "corrupt_files": [],
        "error": None,
        "drifts": [],
    }
    if not files:
        return out
    out.update(_footer_facts(lake, files, time_column, logged, schema))  # rows too: each footer is read once
    unstated = out.pop("unstated")
    if out["loaded_at"] is None and unstated:  # files written without statistics: read the column
        import pyarrow.compute as pc

        values = [pc.max(pf.read(columns=["_loaded_at"]).column("_loaded_at")).as_py() for pf in unstated]
        loaded = max((v for v in values if isinstance(v, datetime)), default=None)
        if loaded is not None:
            out["loaded_at"] = loaded if loaded.tzinfo else loaded.replace(tzinfo=UTC)
    days = sorted({date.fromisoformat(f.rsplit("/", 2)[-2].split("=", 1)[1]) for f in files})
    out["first"], out["last"] = days[0].isoformat(), days[-1].isoformat()
    out["gaps"] = _missing_days(days)
    return out


def _parse_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def coverage_gaps(runs: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Event-time windows no successful whole-universe run asked for, from the run log.

    A successful run covers `[since, until)` of its selection (no `since`: everything before; no `until`: up to
    when it finished). Runs narrowed to some series/events/tickers cover only part of the markets and are left
    out. The holes between the covered windows were never pulled (e.g. two `--since/--until` backfills that do
    not meet); an incremental pull (no window) covers everything up to its run.
    """
    import json

    windows: list[tuple[datetime, datetime]] = []
    for run in runs:
        if run.get("outcome") != "ok":
            continue
        try:
            selection = json.loads(run.get("selection") or "{}")
        except (TypeError, ValueError):
            continue
        if any(selection.get(k) for k in ("series", "events", "tickers")):
            continue
        start = _parse_time(selection.get("since")) or datetime.min.replace(tzinfo=UTC)
        end = _parse_time(selection.get("until")) or _parse_time(run.get("finished_at"))
        if end is not None and start < end:
            windows.append((start, end))
    windows.sort()
    gaps: list[dict[str, str]] = []
    covered_to: datetime | None = None
    for start, end in windows:
        if covered_to is not None and start > covered_to:
            gaps.append({"kind": "not pulled", "from": covered_to.isoformat(), "to": start.isoformat()})
        covered_to = end if covered_to is None else max(covered_to, end)
    return gaps[:MAX_GAPS]


def read_runs(settings) -> list[dict[str, Any]]:
    """The lake's run log (one dict per stream per run), oldest first; [] when nothing ran yet."""
    from kalshi_extract.lake.run_log import read_runs as lake_read_runs
    from kalshi_extract.lake.store import Lake

    return lake_read_runs(Lake.from_settings(settings))


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _runs_summary(runs: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """Last run, its outcome, the time range of landed rows and failures not yet followed by a success."""
    if not runs:
        return {
            "last_run": None,
            "last_run_age": None,
            "last_run_id": None,
            "last_outcome": None,
            "last_error": None,
            "runs": 0,
            "range_start": None,
            "range_end": None,
            "failed_since_ok": 0,
        }
    runs = sorted(runs, key=lambda r: (r.get("finished_at") or r.get("started_at"), r.get("run_id") or ""))
    last = runs[-1]
    ok = [r for r in runs if r.get("outcome") == "ok"]
    starts = [r["range_start"] for r in ok if r.get("range_start")]
    ends = [r["range_end"] for r in ok if r.get("range_end")]
    last_ok = max((i for i, r in enumerate(runs) if r.get("outcome") == "ok"), default=-1)
    last_time = last.get("finished_at") or last.get("started_at")
    return {
        "last_run": _iso(last_time),
        "last_run_age": _age(now - last_time) if isinstance(last_time, datetime) else None,
        "last_run_id": last.get("run_id"),
        "last_outcome": last.get("outcome"),
        "last_error": last.get("error"),
        "runs": len(runs),
        "range_start": _iso(min(starts)) if starts else None,
        "range_end": _iso(max(ends)) if ends else None,
        "failed_since_ok": len(runs) - 1 - last_ok,
    }


def _check_root(lake) -> None:
    """Raise :class:`LakeStateError` when the lake's directory (or a parent) is a file: an empty report would
    read as "never pulled"."""
    if not lake.is_local:
        return
    from pathlib import Path

    from kalshi_extract.errors import LakeStateError

    path = Path(lake.root)
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                raise LakeStateError(
                    f"the lake directory {lake.root} cannot be read: {folder} is a file, not a directory. "
                    "Point KALSHI_LAKE_DIR at a directory (or move the file away)."
                )
            return


def lake_status(settings, now: datetime | None = None, *, schema_drift: bool = False) -> dict[str, Any]:
    """Status of every stream in the lake of `settings` (JSON-safe dict). Reads only; creates nothing.

    Per stream: `rows`, `files`, `first`/`last` (partition days), `range_start`/`range_end` (time range of the
    rows landed by successful runs, from the run log), `last_run`, `last_outcome`, `last_error`, `runs`,
    `last_run_age`, `failed_since_ok`, `loaded_at`, `freshness`, `gaps`: `{"kind", "from", "to"}` with kind
    "not pulled" (event-time windows no successful run covered, see `coverage_gaps`; time streams only) or
    "no data" (missing partition days between the first and the last); `data_start`/`data_end` (min/max of the
    stream's time column in the files themselves), `completed_runs` (ok rows in the run log), `interrupted_runs`
    (`{"run_id", "rows", "loaded_at"}`: runs that landed data without a run-log row; the newest one, when later
    than the last logged run, is reported as the last run with outcome "interrupted"); `corrupt_files` (data
    files that are not readable Parquet, left out of the figures) and `error` (names the first and says how to
    repair; `last_outcome` is then "corrupt file"); `clock`: "exchange" when the stream's dates (`first`/`last`,
    `data_start`/`data_end`) are the exchange's time, "local" when they are this machine's (see `_stream_clock`).
    `now`, `last_run`, `loaded_at` and the ages are always this machine's clock.

    ``schema_drift``: the report also has `schema_drift`, what :meth:`Lake.schema_drift
    <kalshi_extract.lake.store.Lake.schema_drift>` returns (`{"stream", "file", "columns"}` of each data file whose
    column types are not its stream's current schema's, in that order), found from the footers read for the rest
    of the report: each footer is read once (damaged files are left out, as there).
    """
    from kalshi_extract.ingest.streams import STREAMS
    from kalshi_extract.lake.store import Lake

    now = now or datetime.now(UTC)
    lake = Lake.from_settings(settings)
    _check_root(lake)
    runs = read_runs(settings)
    time_streams = {name for name, sdef in STREAMS.items() if sdef.time_column}
    streams = []
    drifts: dict[str, list[tuple[str, tuple[tuple[str, str, str], ...]]]] = {}
    for stream in _streams(lake):
        sdef = STREAMS.get(stream)
        time_column, clock = _stream_clock(stream)
        mine = [r for r in runs if r.get("stream") == stream]
        logged = {str(r.get("run_id")) for r in mine} if sdef else None
        schema = lake.current_schema(stream) if schema_drift else None
        info = _scan_stream(lake, stream, time_column, logged, schema)
        drifts[stream] = info.pop("drifts")
        info["clock"] = clock
        info.update(_runs_summary(mine, now))
        data_runs = info.pop("data_runs")
        interrupted = _interrupted(data_runs, mine) if sdef else []
        info["interrupted_runs"] = [{**r, "loaded_at": _iso(r["loaded_at"])} for r in interrupted]
        info["completed_runs"] = sum(1 for r in mine if r.get("outcome") == "ok")
        latest = interrupted[-1] if interrupted else None
        last_time = _parse_time(info["last_run"])
        if latest and latest["loaded_at"] and (last_time is None or latest["loaded_at"] > last_time):
            info.update(
                last_run=_iso(latest["loaded_at"]),
                last_run_age=_age(now - latest["loaded_at"]),
                last_run_id=latest["run_id"],
                last_outcome="interrupted",
                last_error=(
                    f"run {latest['run_id']} landed {latest['rows']} rows but wrote no run-log row "
                    "(stopped before recording, or still running)"
                ),
            )
        if info["error"]:  # a damaged file outranks the last run's outcome: repairing it comes first
            info.update(last_outcome="corrupt file", last_error=info["error"])
        if stream in time_streams:
            info["gaps"] = coverage_gaps(mine) + info["gaps"]
        loaded = info.pop("loaded_at")
        info["loaded_at"] = loaded.isoformat() if loaded else None
        info["freshness"] = _age(now - loaded) if loaded else None
        streams.append(info)
    report: dict[str, Any] = {"lake": str(settings.lake_root), "now": now.isoformat(), "streams": streams}
    if schema_drift:
        from kalshi_extract.lake.schemas import STREAM_COLUMNS

        report["schema_drift"] = [
            {"stream": stream, "file": path, "columns": [list(c) for c in columns]}
            for stream in STREAM_COLUMNS
            for path, columns in sorted(drifts.get(stream, []))
        ]
    return report
