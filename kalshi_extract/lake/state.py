"""Incremental state of a stream, kept in the lake at ``_state/<stream>.json`` (private streams: one document per
account, ``_state/<stream>/account=<label>.json``) and changed only by commits.

The document::

    {"version": 1,
     "partitions": {"<partition key>": {"watermark": "2026-06-11T06:29:30.164956Z", "runs": 3, ...}},
     "hashes": {"<primary key>": "<12 hex>"},          # state streams: content hash of the last landed row
     "meta": {"cutoff": {...}, ...}}

A *partition* is an independently pulled slice of a stream: ``all``, ``ticker=KXBTC-…``, ``series=KXBTC``…
Watermarks are the newest event time landed (text, exact microseconds), so they do not depend on the local
clock (the exchange's clock may differ from ours). State only changes through :meth:`StateBook.commit`, which
hands the new document to :meth:`kalshi_extract.lake.store.Lake.commit` together with the data files it describes, so
data and state are durable together (see :mod:`kalshi_extract.lake.store`).

Per-account state: a private stream's watermarks say how far *one account's* rows are landed; shared by two
accounts, the second would start from the first's watermark and silently skip its own older rows. A state file of
an earlier version (``_state/<stream>.json`` of a private stream) is migrated when the stream is next opened: it
belongs to the account whose rows are in the lake; a lake with no rows of the stream gives it to nobody (it is
deleted: the next pull reads the account's history afresh, rows de-duplicated); rows of several accounts → the
open is refused with a message saying what to do, nothing changed.
"""

from __future__ import annotations

import copy
import re
import threading
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from kalshi_extract.errors import LakeStateError
from kalshi_extract.lake.schemas import TS

__all__ = ["StateBook", "iso", "parse_iso", "from_micros", "to_micros", "ts_bounds", "STATE_VERSION"]

STATE_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LONG_FRACTION = re.compile(r"(\.\d{6})\d+")


def from_micros(value: int | None) -> datetime | None:
    """A UTC datetime from Unix microseconds (without ``Scalar.as_py``: for timestamps it imports pandas)."""
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def to_micros(value: datetime) -> int:
    """Unix microseconds of an aware datetime (exact integer arithmetic)."""
    return (value.astimezone(UTC) - _EPOCH) // timedelta(microseconds=1)


def ts_bounds(values) -> tuple[datetime | None, datetime | None]:
    """(min, max) of a timestamp array as UTC datetimes (None when empty or all null)."""
    import pyarrow.compute as pc  # here, not at import: `status` reads the run log only

    mm = pc.min_max(values.cast(pa.int64()))
    return from_micros(mm["min"].as_py()), from_micros(mm["max"].as_py())


def iso(value: datetime | None) -> str | None:
    """Exact RFC3339 text (µs) of a UTC datetime."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str | None) -> datetime | None:
    """Parse RFC3339 text (any fraction length, ``Z`` or offset) through Arrow's exact parser."""
    import pyarrow.compute as pc  # here, not at import: `status` reads the run log only

    from kalshi_extract.lake.arrowfast import (
        str_array,  # here too: arrowfast imports numpy, `status` does not
    )

    if not text:
        return None
    try:
        return from_micros(pc.cast(str_array([text]), TS).cast(pa.int64())[0].as_py())
    except (pa.ArrowInvalid, ValueError) as exc:
        shorter = _LONG_FRACTION.sub(r"\1", text, count=1)
        if shorter != text:  # a nanosecond clock (cutoff, market times): truncate to µs as the converter does
            return parse_iso(shorter)
        raise LakeStateError(f"state holds {text!r}, which is not an RFC3339 time ({exc})") from None


class StateBook:
    """The state of one stream during a run: thread-safe reads, commits together with data files."""

    def __init__(self, lake, stream: str, account: str | None = None):
        """``account``: the account label (``KALSHI_ACCOUNT``) for a private stream, None for a public one. Call
        while holding the stream's lock (it may migrate an earlier version's state file)."""
        self.lake = lake
        self.stream = stream
        self.account = account
        if account is not None:
            _migrate_legacy(lake, stream)
        doc = lake.read_state(stream, account)
        if doc and doc.get("version") != STATE_VERSION:
            raise LakeStateError(
                f"state of {stream!r} has version {doc.get('version')!r}, expected {STATE_VERSION}; it was "
                "written by another kalshi-lake version. Delete _state/ of this stream to re-pull it."
            )
        self.doc = doc or {"version": STATE_VERSION, "partitions": {}, "hashes": {}, "meta": {}}
        self.doc.setdefault("partitions", {})
        self.doc.setdefault("hashes", {})
        self.doc.setdefault("meta", {})
        self._lock = threading.Lock()

    def partition(self, key: str) -> dict:
        with self._lock:
            return copy.deepcopy(self.doc["partitions"].get(key, {}))

    def meta(self, key: str, default=None):
        with self._lock:
            return copy.deepcopy(self.doc["meta"].get(key, default))

    def hash_of(self, pk: str) -> str | None:
        return self.doc["hashes"].get(pk)

    def commit(
        self,
        files: list[tuple[str, str]],
        *,
        partitions: dict | None = None,
        hashes: dict | None = None,
        meta: dict | None = None,
    ) -> list[str]:
        """Make ``files`` visible and apply the state changes, as one crash-safe commit."""
        with self._lock:
            if not partitions and not hashes and not meta:
                return self.lake.commit(self.stream, files, account=self.account)
            doc = copy.deepcopy(self.doc) if (partitions or meta) else dict(self.doc)
            if partitions:
                for key, value in partitions.items():
                    doc["partitions"][key] = value
            if hashes:
                doc["hashes"] = {**self.doc["hashes"], **hashes}
            if meta:
                doc["meta"] = {**doc["meta"], **meta}
            doc["updated_at"] = iso(datetime.now(UTC))
            out = self.lake.commit(self.stream, files, state=doc, account=self.account)
            self.doc = doc
            return out


def _migrate_legacy(lake, stream: str) -> None:
    """Move an earlier version's ``_state/<stream>.json`` of a private stream to its account (see the module)."""
    import pyarrow.compute as pc  # here, not at import: `status` reads the run log only

    old = lake.legacy_state_path(stream)
    if not lake._exists(old):
        return
    doc = lake.read_state_file(old)
    landed = lake.scan(stream, ["_account"])
    owners = (
        [] if landed is None else sorted(v for v in pc.unique(landed.column("_account")).to_pylist() if v)
    )
    if len(owners) > 1:
        raise LakeStateError(
            f"{old} was written before state was kept per account, and the lake holds {stream!r} rows of "
            f"several accounts ({', '.join(repr(o) for o in owners)}): it cannot tell whose watermarks it holds. "
            f"Delete {old}: each account's next pull then reads its history afresh (rows already in the lake "
            "are de-duplicated, nothing is lost)."
        )
    if owners:
        lake.commit(stream, [], state=doc, deletes=[old], account=owners[0])
    else:  # no rows of the stream: the state is nobody's; without it the next pull reads from the start
        lake.commit(stream, [], deletes=[old])
