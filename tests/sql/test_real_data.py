"""The models on genuine recorded Kalshi responses (demo environment, /work/shared/real-data/fortuna_demo):
three real fills (1 YES @ .52 fee .0175, 2 YES @ .99 fee .0007 each) go through the lake's own converter, and
fct_pnl reproduces the real exchange's MarketPosition exactly: position 3, exposure 2.50, fees 0.0189, realized 0.
The recorded order book (YES bid .47, NO bid .48 -> ask .52) marks the position at .495: unrealized 3 x .495 - 2.50.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kalshi_lake import warehouse
from tests.shared_paths import REAL_DATA

from .lakegen import write_stream

DEMO = REAL_DATA / "fortuna_demo"
pytestmark = pytest.mark.skipif(not DEMO.exists(), reason="recorded responses not available")
TICKER = "KXWTACHALLENGERMATCH-26JUN11JIMLEP-LEP"


def _land(lake, stream: str, items: list[dict], loaded_at: datetime) -> None:
    from kalshi_extract.lake.convert import Converter
    from kalshi_extract.lake.schemas import STREAM_COLUMNS, arrow_schema

    conv = Converter(
        stream,
        STREAM_COLUMNS[stream],
        arrow_schema(stream),
        run_id="real",
        loaded_at=loaded_at,
        account="fortuna" if stream in ("fills", "positions") else None,
    )
    lake.append(stream, conv.convert(items), "real")


def test_fct_pnl_reproduces_a_real_kalshi_position(tmp_path):
    from kalshi_extract.lake.store import Lake

    load = lambda name: json.loads((DEMO / name).read_bytes())  # noqa: E731
    loaded = datetime(2026, 6, 11, 6, 33, tzinfo=UTC)
    lake = Lake(str(tmp_path / "lake"))
    _land(lake, "fills", load("fills__after_taker.json")["fills"], loaded)
    _land(lake, "positions", load("portfolio__positions.json")["market_positions"], loaded)
    _land(lake, "markets", [load("markets__single.json")["market"]], loaded)
    book = load("orderbook__base.json")["orderbook_fp"]
    at = datetime.fromtimestamp(1781159357765 / 1000, UTC)
    write_stream(
        tmp_path / "lake",
        "orderbook_snapshots",
        [
            {
                "ticker": TICKER,
                "snapshot_ts": at,
                "side": side,
                "price_dollars": Decimal(p),
                "count_fp": Decimal(c),
                "level": i,
            }
            for side, key in (("yes", "yes_dollars"), ("no", "no_dollars"))
            for i, (p, c) in enumerate(sorted(book[key], key=lambda lv: -Decimal(lv[0])))
        ],
    )
    con = warehouse.build_in_memory(tmp_path / "lake", run_tests=True)
    row = con.execute(
        "select position_fp, cost_basis_dollars, realized_pnl_dollars, fees_dollars, mark_price_dollars, "
        "unrealized_pnl_dollars, total_pnl_dollars, event_ticker from fct_pnl where account = 'fortuna'"
    ).fetchone()
    assert row == (
        Decimal(3),
        Decimal("2.50"),
        Decimal(0),
        Decimal("0.0189"),
        Decimal("0.495"),
        Decimal("-1.015"),
        Decimal("-1.0339"),
        "KXWTACHALLENGERMATCH-26JUN11JIMLEP",
    )
    rec = con.execute(
        "select positions_comparable, realized_pnl_diff_dollars, fees_diff_dollars, position_diff_fp, "
        "cost_basis_diff_dollars from fct_pnl_reconciliation"
    ).fetchall()
    assert rec == [(True, 0, 0, 0, 0)]
