"""A user-given series or ticker stays one path segment (issue #17, item 10): it can neither climb out of the
endpoint (`../../_sim/state`) nor add a query string (`X?status=open#`). Checked on the raw request line."""

from __future__ import annotations

import pytest

from kalshi_extract import KalshiClient
from kalshi_extract.api.endpoints import fill_path
from kalshi_extract.ingest.pull import Selection, pull_stream
from kalshi_extract.lake.store import Lake
from tests.extract.conftest import Reply, ScriptedServer, local_settings


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


def test_a_series_cannot_climb_out_of_its_segment(server, tmp_path):
    server.route("GET", "/series/..%2F..%2F_sim%2Fstate", Reply(404, {"error": {"code": "not_found"}}))
    with KalshiClient(local_settings(server, KALSHI_TIER="unlimited")) as client:
        result = pull_stream(
            client, Lake(str(tmp_path / "lake")), "series", Selection(series=["../../_sim/state"])
        )
    assert [s.path for s in server.seen] == ["/trade-api/v2/series/..%2F..%2F_sim%2Fstate"]
    assert result.ok and result.rows == 0


def test_fill_path_encodes_every_segment():
    path = fill_path(
        "/series/{series_ticker}/markets/{ticker}/candlesticks", series_ticker="A/B", ticker="X?s=o#"
    )
    assert path == "/series/A%2FB/markets/X%3Fs%3Do%23/candlesticks"
    with pytest.raises(ValueError):
        fill_path("/markets/{ticker}", ticker="")
