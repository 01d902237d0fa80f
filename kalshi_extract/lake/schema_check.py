"""Is every data file of a stream in the stream's current schema? Checked from Parquet footers, cached.

What counts
-----------
A file *drifts* when a column it shares with the current schema (:func:`~kalshi_extract.lake.schemas.arrow_schema`)
has another type: e.g. ``floor_strike decimal128(24, 8)`` written by a version before 2026-11-24 beside today's
``decimal128(38, 12)``. Engines that read the lake file by file disagree on such files (polars refuses the
mixture, DuckDB's plain ``read_parquet`` takes the first file's type and silently rounds 96500.123456789012 to
96500.12345679). A column the file lacks (added to the schema since) is not drift: the contract reads the lake
with ``union_by_name`` (docs/CONTRACTS.md) and such columns are null. A column the schema does not know (a newer
version's) is not drift either.

The cache
---------
``<root>/_schemas/<stream>.json`` = ``{"schema": <fingerprint of the current schema>, "files": {<path under the
stream>: <size in bytes>}}``: the files whose footers were read and found current. Data files are immutable and
their names unique (run id, sequence, random suffix), so an entry stays true while the file exists with that size;
a different fingerprint (another version's schema) discards the whole cache. Opening a stream for writing then
lists the stream (one listing, which the lake needs anyway) and reads only the footers of files written since the
last check: a pull's few files, or every file once after an upgrade. The cache is written only by a holder of the
stream's writer lock (:meth:`Lake.lock <kalshi_extract.lake.store.Lake.lock>`); readers (``kalshi-lake status``)
use it without writing it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pyarrow as pa

from kalshi_extract.errors import LakeStateError

__all__ = ["Drift", "check_stream", "fingerprint", "drift_of"]

_FOOTER_THREADS = 8  # footers on an object store are one or two GETs each: read several at once


@dataclass(frozen=True)
class Drift:
    """A data file with columns whose type is not the current schema's: ``columns`` = (name, in the file, now)."""

    stream: str
    path: str
    columns: tuple[tuple[str, str, str], ...]

    def describe(self) -> str:
        return ", ".join(f"{name} {have} (now {want})" for name, have, want in self.columns)


log = logging.getLogger(__name__)


def fingerprint(schema: pa.Schema) -> str:
    """A short digest of the schema's column names and types (what the cache's entries were checked against)."""
    text = "\n".join(f"{f.name}:{f.type}" for f in schema)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def drift_of(file_schema: pa.Schema, schema: pa.Schema) -> tuple[tuple[str, str, str], ...]:
    """Columns of ``file_schema`` that ``schema`` also has, with another type (name, file type, schema type)."""
    out = []
    for field in file_schema:
        idx = schema.get_field_index(field.name)
        if idx >= 0 and not field.type.equals(schema.field(idx).type):
            out.append((field.name, str(field.type), str(schema.field(idx).type)))
    return tuple(out)


def cache_path(lake, stream: str) -> str:
    return lake._join("_schemas", f"{stream}.json")


def _read_cache(lake, stream: str, fp: str) -> dict[str, int]:
    try:
        with lake.fs.open_input_stream(
            cache_path(lake, stream)
        ) as f:  # no existence check first: one request
            doc = json.loads(f.read())
    except (OSError, ValueError):
        return {}  # none yet, or damaged: every footer is read again (the cache only ever saves work)
    if not isinstance(doc, dict) or doc.get("schema") != fp or not isinstance(doc.get("files"), dict):
        return {}
    return doc["files"]


def check_stream(lake, stream: str, *, write_cache: bool) -> list[Drift]:
    """The files of ``stream`` that drift from its current schema ([] for a stream this version does not know).

    Reads the footers of the files the cache does not vouch for; ``write_cache``: record the files found current
    (only while holding the stream's writer lock). A damaged file raises :class:`LakeStateError` naming it when
    ``write_cache``, and is skipped otherwise."""
    schema = lake.current_schema(stream)
    if schema is None:
        return []
    fp = fingerprint(schema)
    known = _read_cache(lake, stream, fp)
    base = lake.stream_path(stream).rstrip("/") + "/"
    sizes = {info.path: info.size for info in lake.file_infos(stream)}
    unknown = [p for p, size in sizes.items() if known.get(p[len(base) :]) != size]

    def footer(path: str) -> tuple[str, pa.Schema | None]:
        try:
            return path, lake.open_parquet(path).schema_arrow
        except LakeStateError:
            if write_cache:
                raise  # a writer stops on a damaged file, naming it
            return path, None  # a reader leaves it to the report of damaged files (``status``)

    if len(unknown) > 1:
        with ThreadPoolExecutor(min(_FOOTER_THREADS, len(unknown))) as pool:
            footers = list(pool.map(footer, unknown))
    else:
        footers = [footer(p) for p in unknown]
    drifts = []
    current = {p[len(base) :]: sizes[p] for p in sizes if known.get(p[len(base) :]) == sizes[p]}
    for path, file_schema in footers:
        if file_schema is None:
            continue
        cols = drift_of(file_schema, schema)
        if cols:
            drifts.append(Drift(stream, path, cols))
        else:
            current[path[len(base) :]] = sizes[path]
    if write_cache and (unknown or len(current) != len(known)):
        doc = {"schema": fp, "files": dict(sorted(current.items()))}
        data = json.dumps(doc, separators=(",", ":")).encode()
        try:
            if lake.is_local:
                lake._write_bytes(cache_path(lake, stream), data)  # temp + fsync + rename
            else:  # an object store's PUT is atomic already: one request, not PUT + copy + delete
                with lake.fs.open_output_stream(cache_path(lake, stream)) as f:
                    f.write(data)
        except OSError as exc:  # only a cache: the footers are read again next time; the write goes on
            log.warning("%s: could not record the schema check's cache (%s); it will be redone", stream, exc)
    return sorted(drifts, key=lambda d: d.path)
