"""Combos are pulled apart from the other markets: `markets` keeps `mve_filter=exclude`, and the combo streams
whose rows can outnumber everything else (`combo_markets`, `mve_events`) are pulled only when named."""

from __future__ import annotations

from kalshi_extract.api.endpoints import ENDPOINTS
from kalshi_extract.ingest.plan import plan_pull
from kalshi_extract.ingest.streams import STREAMS
from kalshi_extract.settings import Settings


def _settings(tmp_path) -> Settings:
    return Settings.load(environ={"KALSHI_LAKE_DIR": str(tmp_path)}, config_path=None)


def test_a_pull_of_all_market_data_leaves_the_bulky_combo_streams_out(tmp_path):
    plan = plan_pull(_settings(tmp_path), None)
    assert "markets" in plan.market_streams and "mve_collections" in plan.market_streams
    assert not {"combo_markets", "mve_events"} & set(plan.market_streams)


def test_combo_streams_are_pulled_when_named(tmp_path):
    plan = plan_pull(_settings(tmp_path), ["combo_markets", "mve_events", "markets"])
    assert set(plan.market_streams) == {"combo_markets", "mve_events", "markets"}


def test_combo_markets_and_markets_split_the_market_list_by_mve_filter():
    assert STREAMS["markets"].api.default_params["mve_filter"] == "exclude"
    assert STREAMS["combo_markets"].api.default_params["mve_filter"] == "only"
    assert STREAMS["combo_markets"].path == STREAMS["markets"].path == "/markets"
    assert STREAMS["combo_markets"].historical_path is None  # /historical/markets cannot select combos only
    assert ENDPOINTS["multivariate_collections"].data_key == "multivariate_contracts"
