"""The genuine combo market recorded on the demo exchange (June 2026) lands through the `combo_markets` stream with
every value exact (`custom_strike`, `mve_collection_ticker`, `mve_selected_legs`, `is_provisional`,
`response_price_units` … as typed columns), and builds into one leg-table row per recorded leg."""

from __future__ import annotations

import json

import pytest

from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from tests.lake.test_real_data import DEMO, REAL, assert_exact, items

pytestmark = pytest.mark.skipif(not REAL.exists(), reason="recorded responses not available")


def test_the_recorded_combo_lands_and_builds_its_legs(fake_api, fake_client, tmp_path):
    from kalshi_lake.warehouse import build_in_memory

    combos = [
        m for m in items(DEMO / "markets__status_settled.json", "markets") if m.get("mve_selected_legs")
    ]
    assert len(combos) == 1
    body = json.loads((DEMO / "markets__status_settled.json").read_text())
    body["markets"] = [
        m for m in body["markets"] if m.get("mve_selected_legs")
    ]  # what mve_filter=only returns
    body["cursor"] = ""
    seen = []

    def markets(q):
        seen.append(q)
        return json.dumps(body).encode()

    fake_api.routes["/markets"] = markets
    lake = Lake(str(tmp_path / "lake"))
    result = pull(fake_client, lake, ["combo_markets"], Selection())
    assert result.ok, [s.error for s in result.streams]
    assert seen and all(q.get("mve_filter") in ("only", ["only"]) for q in seen)
    table = lake.read("combo_markets")
    assert_exact("combo_markets", combos, table, "ticker")
    row = table.to_pylist()[0]
    assert row["_extra"] is None  # every recorded field has its column
    assert row["response_price_units"] == "usd_cent" and row["is_provisional"] is True

    con = build_in_memory(str(tmp_path / "lake"), run_tests=True)
    legs = con.execute(
        "select leg_index, leg_market_ticker, leg_event_ticker, leg_side, mve_collection_ticker, leg_count "
        "from stg_combo_legs order by leg_index"
    ).fetchall()
    recorded = combos[0]["mve_selected_legs"]
    assert legs == [
        (k + 1, leg["market_ticker"], leg["event_ticker"], leg["side"], "KXMVECROSSCATEGORY-R", len(recorded))
        for k, leg in enumerate(recorded)
    ]
    dim = con.execute("select leg_market_known, combo_result from dim_combo_legs").fetchall()
    assert dim == [(False, "no"), (False, "no")]  # the legs' own markets were not pulled
