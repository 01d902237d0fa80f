"""Combos settled before the historical cutoff, end to end: ``/historical/markets`` includes multivariate markets by
default (spec v3.21: ``mve_filter`` takes only ``exclude``) and takes ``tickers``; the ``combo_markets`` stream asks it
by ticker for the combos the lake's trades name, so every traded combo gets its market row; a traded ticker that no
endpoint knows is reported (a warning naming it), never silently missing."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings
from kalshi_sim import LocalExchange

pytestmark = pytest.mark.slow


def _pull(client, lake, streams, selection=None):
    result = pull(client, lake, streams, selection or Selection())
    failed = [(s.stream, s.error) for s in result.streams if s.outcome != "ok"]
    assert not failed


def _tickers(lake, stream) -> set[str]:
    return set(pc.unique(lake.read(stream, ["ticker"]).column("ticker")).to_pylist())


def test_archived_combos_land_and_missing_ones_are_reported(tmp_path, caplog):
    with LocalExchange(seed=7, size="tiny") as ex:
        settings = Settings.load(environ={"KALSHI_API_URL": ex.base_url, "KALSHI_LAKE_DIR": str(tmp_path)})
        lake = Lake.from_settings(settings)
        with KalshiClient(settings) as client:
            archived = [m for m in client.get("/historical/markets", {"limit": 1000})["markets"]]
            archived_combos = {m["ticker"] for m in archived if m.get("mve_collection_ticker")}
            assert archived_combos, "the tiny exchange has combos settled before the cutoff"
            excluded = client.get("/historical/markets", {"limit": 1000, "mve_filter": "exclude"})["markets"]
            assert not {m["ticker"] for m in excluded} & archived_combos
            one = sorted(archived_combos)[0]
            by_ticker = client.get("/historical/markets", {"tickers": one})["markets"]
            assert [m["ticker"] for m in by_ticker] == [one] and by_ticker[0]["mve_selected_legs"]

            _pull(client, lake, ["markets", "trades"])
            traded = _tickers(lake, "trades")
            traded_archived = traded & archived_combos
            assert traded_archived, "some archived combos have trades in the lake"
            live_combos = {m["ticker"] for m in client.endpoint_items("combo_markets")}
            assert not traded_archived & live_combos  # /markets?mve_filter=only cannot return them

            # a traded ticker no endpoint knows (e.g. a market the API no longer serves)
            ghost = "KXMVEGHOST-26JAN01-X1"
            lake.append("trades", pa.Table.from_pylist([{"trade_id": "ghost-1", "ticker": ghost}]), "ghost")
            with caplog.at_level(logging.WARNING, logger="kalshi_extract.ingest.state_rules"):
                _pull(client, lake, ["combo_markets"])
            landed = _tickers(lake, "combo_markets")
            assert traded_archived <= landed  # the archived combos traded now have their market row
            assert live_combos <= landed
            assert (
                not landed - live_combos - archived_combos
            )  # and nothing else (plain markets stay in markets)
            assert ghost not in landed
            warned = [r.getMessage() for r in caplog.records if "no market row" in r.getMessage()]
            assert len(warned) == 1 and ghost in warned[0] and "1 traded or named" in warned[0]

            # a second run asks nothing again for combos already landed
            caplog.clear()
            before = len(ex.requests())
            _pull(client, lake, ["combo_markets"])
            asked = [r for r in ex.requests()[before:] if r["path"].endswith("/historical/markets")]
            assert len(asked) == 1  # only the ghost is asked again
