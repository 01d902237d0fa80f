"""The run log: one row per run and stream in ``<lake_root>/_runs/date=YYYY-MM-DD/<run_id>-<stream>.parquet``.

Columns: ``run_id``, ``stream``, ``started_at``, ``finished_at`` (timestamp[us, UTC]), ``range_start`` /
``range_end`` (the time range of the rows landed, null when the stream has no time axis or nothing landed),
``pages``, ``rows`` (rows landed), ``rows_seen`` (rows received, before de-duplication), ``rows_untimed`` (rows
landed without their event time: time null, partitioned by load date; null in older logs), ``requests``,
``retries``, ``throttled`` (429 answers), ``partitions``, ``files`` (int64), ``seconds`` (double, wall time),
``outcome`` (``ok`` | ``failed``), ``error`` (the message), ``error_type`` (the exception's class name) and
``retriable`` (bool: may a later retry heal it; both null when ok and in logs written before they existed), ``unknown_fields`` (JSON list of field names the schema does not
know, reported once per run), ``unfit_fields`` (JSON list of fields with a value that did not fit its column:
landed as null, the original in ``_extra``; null in run logs written before it existed), ``selection`` (JSON). Each row is written atomically after its stream finished, so
``kalshi-lake status`` and gap accounting can trust it.

The log is a stream of the lake like any other (``_runs``) and its rows are written through the same crash-safe
commit, under its own writer lock (held for the few milliseconds a row takes). So a process killed while writing
a row leaves either no row or a complete commit record, which the next row written by anyone rolls forward;
until then :func:`read_runs` reads the pending row where it waits. Its temp files are deleted by that next lock.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

import pyarrow as pa

from kalshi_extract.errors import LakeStateError
from kalshi_extract.lake.schemas import TS
from kalshi_extract.lake.state import to_micros

__all__ = ["RUNS_SCHEMA", "RUNS_STREAM", "new_run_id", "record_run", "read_runs"]

log = logging.getLogger("kalshi_extract.lake.run_log")

RUNS_STREAM = "_runs"

RUNS_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("stream", pa.string()),
        ("started_at", TS),
        ("finished_at", TS),
        ("range_start", TS),
        ("range_end", TS),
        ("pages", pa.int64()),
        ("rows", pa.int64()),
        ("rows_seen", pa.int64()),
        ("rows_untimed", pa.int64()),
        ("requests", pa.int64()),
        ("retries", pa.int64()),
        ("throttled", pa.int64()),
        ("partitions", pa.int64()),
        ("files", pa.int64()),
        ("seconds", pa.float64()),
        ("outcome", pa.string()),
        ("error", pa.string()),
        ("error_type", pa.string()),
        ("retriable", pa.bool_()),
        ("unknown_fields", pa.string()),
        ("unfit_fields", pa.string()),
        ("selection", pa.string()),
    ]
)


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique run id such as ``20261124T153000Z-1a2b3c4d``."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def record_run(lake, row: dict, lock_timeout: float = 60.0) -> str:
    """Write one run-log row (keys of :data:`RUNS_SCHEMA`; missing ones are null) atomically."""
    values = {name: row.get(name) for name in RUNS_SCHEMA.names}
    for key in ("unknown_fields", "unfit_fields"):
        if isinstance(values.get(key), (list, set, tuple)):
            values[key] = json.dumps(sorted(values[key]))
    if isinstance(values.get("selection"), dict):
        values["selection"] = json.dumps(values["selection"], default=str, sort_keys=True)
    table = pa.Table.from_arrays([_one(values[f.name], f.type) for f in RUNS_SCHEMA], schema=RUNS_SCHEMA)
    date = (values.get("started_at") or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%d")
    import pyarrow.parquet as pq

    final = lake._join(RUNS_STREAM, f"date={date}", f"{values['run_id']}-{values['stream']}.parquet")
    # the lock also rolls forward a row a killed writer left; no schema check: a run's row must be written even
    # when the disk is nearly full or an old row file is damaged (``read_runs`` reads around it)
    with lake.lock(RUNS_STREAM, timeout=lock_timeout, check_schema=False):
        tmp = lake._tmp_path(RUNS_STREAM)
        try:
            with lake.fs.open_output_stream(tmp) as sink:
                pq.write_table(table, sink)
            lake._fsync(tmp)
        except BaseException:
            lake._delete_quiet(tmp)
            raise
        lake.commit(RUNS_STREAM, [(tmp, final)])
    return final


def _one(value, type_: pa.DataType) -> pa.Array:
    """A one-element array built without pa.array (which would import pandas; see arrowfast)."""
    # imported here: readers of the run log (`kalshi-lake status`) import no numpy
    import numpy as np

    from kalshi_extract.lake.arrowfast import bool_array, const_str, const_ts, int_array

    if value is None:
        return pa.nulls(1, type_)
    if pa.types.is_timestamp(type_):
        return const_ts(to_micros(value), 1, type_)
    if pa.types.is_string(type_):
        return const_str(str(value), 1)
    if pa.types.is_boolean(type_):
        return bool_array([bool(value)])
    if pa.types.is_floating(type_):
        return pa.Array.from_buffers(
            type_, 1, [None, pa.py_buffer(np.array([float(value)], dtype=np.float64))]
        )
    return int_array([int(value)], type_)


def read_runs(lake) -> list[dict]:
    """Every run-log row as a dict, oldest first ([] before the first run)."""
    import pyarrow.parquet as pq

    files = lake.files(RUNS_STREAM)
    pending = [src for src, dst in lake.pending_moves(RUNS_STREAM) if dst not in files]
    if not files and not pending:
        return []
    rows = []
    if files:
        try:
            # file by file, no pyarrow.dataset: `status` reads this and should start fast (the run log is
            # compacted into few files by every pull)
            parts = [pq.ParquetFile(lake.fs.open_input_file(p)).read() for p in files]
            if all(t.schema.equals(RUNS_SCHEMA) for t in parts):
                table = pa.concat_tables(parts)
            else:  # files of an earlier run-log schema: the dataset reader fills and casts the columns
                table = lake.dataset(RUNS_STREAM, schema=RUNS_SCHEMA).to_table(columns=RUNS_SCHEMA.names)
        except (pa.ArrowInvalid, OSError):  # a damaged row file: read the others, name it
            good = []
            for path in files:
                try:
                    lake.open_parquet(path)
                    good.append(path)
                except LakeStateError as exc:
                    log.warning("run log: %s", exc)
            table = pa.concat_tables(
                [pq.read_table(lake.fs.open_input_file(p), schema=RUNS_SCHEMA) for p in good]
                or [RUNS_SCHEMA.empty_table()]
            )
        rows = table.select(RUNS_SCHEMA.names).to_pylist()
    for src in pending:  # committed rows whose commit a killed writer did not finish moving
        try:
            table = pq.read_table(lake.fs.open_input_file(src), schema=RUNS_SCHEMA)
        except (FileNotFoundError, OSError):
            continue  # moved meanwhile: read_runs again to see it
        rows += table.select(RUNS_SCHEMA.names).to_pylist()
    rows.sort(key=lambda r: (r["started_at"] or datetime.min.replace(tzinfo=UTC), r["stream"] or ""))
    return rows
