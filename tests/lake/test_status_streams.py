"""`status` lists the streams kalshi-lake writes itself (the recorder's ws_*, the live runner's live_*) when the
lake has them, and leaves out the ones it does not have."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from kalshi_extract.ingest.status import lake_status
from kalshi_extract.lake.schemas import TS
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings


def test_recorded_streams_are_listed_only_when_present(tmp_path):
    settings = Settings.load(environ={"KALSHI_LAKE_DIR": str(tmp_path)}, config_path=None)
    lake = Lake.from_settings(settings)
    at = datetime(2026, 11, 24, 12, tzinfo=UTC)
    lake.append("ws_coverage", pa.table({"at": pa.array([at], TS), "event": ["started"]}), "rec-1", "at")
    streams = {s["stream"]: s for s in lake_status(settings)["streams"]}
    assert streams["ws_coverage"]["rows"] == 1 and streams["ws_coverage"]["first"] == "2026-11-24"
    assert "ws_book" not in streams and "live_orders" not in streams
    assert "trades" in streams and "order_events" in streams  # pulled streams and the journal: always
