"""Combo (multivariate) markets land in combo_markets, not markets: dim_markets and int_market_states include them
(is_combo), so P&L on a combo has its event and its settlement value; a ticker in both streams stays one row."""

from __future__ import annotations

from kalshi_lake import warehouse

from . import lakegen
from .lakegen import D, S, at, fill, market, write_stream

LEGS = (
    '[{"event_ticker": "KXA-26", "market_ticker": "KXA-26-T1", "side": "yes"},'
    ' {"event_ticker": "KXB-26", "market_ticker": "KXB-26-T1", "side": "no"}]'
)


def test_combo_markets_are_in_dim_markets_and_pnl(tmp_path, monkeypatch):
    monkeypatch.setitem(lakegen.SCHEMAS, "combo_markets", lakegen.SCHEMAS["markets"])
    root = tmp_path / "lake"
    combo = "KXMVECROSS-26NOV21-ABC"
    write_stream(root, "markets", [market("KXA-26-T1", "KXA-26"), market("KXBOTH-26-T1", "KXBOTH-26")])
    write_stream(
        root,
        "combo_markets",
        [
            market(
                combo,
                "KXMVECROSS-26NOV21",
                status="finalized",
                result="yes",
                settlement_value_dollars=D(1),
                settlement_ts=at(days=1),
                mve_selected_legs=LEGS,
            ),
            market("KXBOTH-26-T1", "KXBOTH-26", title="the combo stream's copy", mve_selected_legs=LEGS),
        ],
        extra_columns={"mve_selected_legs": S},
    )
    write_stream(
        root,
        "fills",
        [fill("f1", combo, "bid", 2, "0.30", "0.02", 0), fill("f2", "KXA-26-T1", "bid", 1, "0.50", "0", 0)],
    )
    con = warehouse.build_in_memory(root, run_tests=True)
    dim = {
        r[0]: r[1:]
        for r in con.execute(
            "select ticker, event_ticker, is_combo, title, settlement_value_dollars from dim_markets"
        ).fetchall()
    }
    assert dim == {
        "KXA-26-T1": ("KXA-26", False, "KXA-26-T1", None),
        "KXBOTH-26-T1": ("KXBOTH-26", False, "KXBOTH-26-T1", None),
        combo: ("KXMVECROSS-26NOV21", True, combo, D(1)),
    }
    states = dict(con.execute("select ticker, is_combo from int_market_states").fetchall())
    assert states == {"KXA-26-T1": False, "KXBOTH-26-T1": False, combo: True}
    pnl = con.execute(
        "select event_ticker, series_ticker, settled, realized_pnl_dollars, fees_dollars from fct_pnl where ticker = ?",
        [combo],
    ).fetchone()
    assert pnl == ("KXMVECROSS-26NOV21", "KXMVECROSS", True, D("1.40"), D("0.02"))
