"""A file that fails to close (a full disk) leaves no temp file behind: the writer deletes it itself, since the
part has already left the open set that ``abort`` cleans up."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from kalshi_extract.lake.store import Lake


def test_a_part_that_fails_to_close_deletes_its_temp_file(tmp_path, monkeypatch):
    lake = Lake(str(tmp_path / "lake"))
    schema = pa.schema([("ticker", pa.string()), ("day", pa.string())])
    w = lake.writer("trades_test", "run-1", schema, fixed_date="2026-12-03", row_group_rows=1)
    w.write(pa.RecordBatch.from_pylist([{"ticker": "A", "day": "x"}], schema=schema))
    (part,) = w._open.values()
    assert os.path.exists(part.tmp)

    def full_disk(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(part.writer, "close", full_disk, raising=False)
    with pytest.raises(OSError):
        w.finish()
    w.abort()
    assert not os.path.exists(part.tmp)
