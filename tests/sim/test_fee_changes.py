"""Scheduled fee changes end to end: the local exchange schedules them and charges the terms in effect at each
fill's time; `series_fee_changes` / `event_fee_changes` land typed; their staging models read them back."""

from __future__ import annotations

import uuid
from decimal import ROUND_CEILING, Decimal

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings

STREAMS = ["series_fee_changes", "event_fee_changes"]


def _fee(mult: str, count: Decimal, price: Decimal) -> Decimal:
    exact = Decimal("0.07") * Decimal(mult) * count * price * (1 - price)
    return exact.quantize(Decimal("0.0001"), rounding=ROUND_CEILING)


def _take(client, market: dict, count: str = "5.00") -> dict:
    """Buy YES at the ask (IOC) and return the account's fill of that order."""
    out = client.post(
        "/portfolio/events/orders",
        {
            "ticker": market["ticker"],
            "side": "bid",
            "count": count,
            "price": market["yes_ask_dollars"],
            "time_in_force": "immediate_or_cancel",
            "self_trade_prevention_type": "taker_at_cross",
            "client_order_id": str(uuid.uuid4()),
        },
    )
    order_id = out["order_id"]
    fills = [f for f in client.get_fills(order_id=order_id)]
    assert fills, market["ticker"]
    return fills[0]


def _open_market(client, event_ticker: str | None = None, series: str = "KXHIGHNY", skip: str | None = None):
    params = {"status": "open", "series_ticker": series}
    if event_ticker:
        params["event_ticker"] = event_ticker
    for m in client.get_markets(**params):
        if skip and m["event_ticker"] == skip:
            continue
        ask = Decimal(m["yes_ask_dollars"])
        if Decimal("0.05") <= ask <= Decimal("0.95"):
            return m
    raise AssertionError(f"no liquid open {series} market (event {event_ticker}, not {skip})")


def test_schedule_is_served_and_fills_pay_the_terms_in_effect(fresh_exchange, tmp_path):
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c:
        upcoming = c.get("/series/fee_changes")["series_fee_change_arr"]
        assert [(x["series_ticker"], x["fee_multiplier"]) for x in upcoming] == [("KXHIGHNY", 0.5)]
        every = c.get("/series/fee_changes", {"show_historical": "true"})["series_fee_change_arr"]
        assert {(x["series_ticker"], x["fee_type"], x["fee_multiplier"]) for x in every} == {
            ("KXINXD", "quadratic_with_maker_fees", 0.5),
            ("KXHIGHNY", "quadratic", 0.5),
        }
        assert (
            c.get("/series/fee_changes", {"series_ticker": "KXBTC", "show_historical": "true"})[
                "series_fee_change_arr"
            ]
            == []
        )
        events = c.get("/events/fee_changes", {"limit": 1})
        assert len(events["event_fee_changes"]) == 1 and events["cursor"]  # paged
        changes = [
            x for p in c.paginate("/events/fee_changes", {"limit": 1}, "event_fee_changes") for x in p.items
        ]
        assert [(x["fee_type_override"], x["fee_multiplier_override"]) for x in changes] == [
            (None, None),  # newest scheduled first: the clearing change
            ("quadratic", 0),
        ]
        promo = changes[0]["event_ticker"]
        assert c.get_series("KXHIGHNY")["fee_multiplier"] == 1

        def paid(market) -> tuple[Decimal, Decimal, Decimal]:
            f = _take(c, market)
            return Decimal(f["fee_cost"]), Decimal(f["count_fp"]), Decimal(f["yes_price_dollars"])

        # at the origin (the promo event opens 2 h later): series terms, multiplier 1
        fee, n, p = paid(_open_market(c, skip=promo))
        assert fee == _fee("1", n, p) > 0

        # 13 h later the promo event's fee-free override is in effect; the other events still pay multiplier 1
        ex.advance(13 * 3600)
        ev = c.get_event(promo)
        assert (ev["fee_type_override"], ev["fee_multiplier_override"]) == ("quadratic", 0)
        assert paid(_open_market(c, promo))[0] == 0
        fee, n, p = paid(_open_market(c, skip=promo))
        assert fee == _fee("1", n, p) > 0

        # 27 h after the origin the series multiplier is 0.5; the override still wins on the promo event
        ex.advance(14 * 3600)
        assert c.get_series("KXHIGHNY")["fee_multiplier"] == 0.5
        assert c.get("/series/fee_changes")["series_fee_change_arr"] == []  # nothing upcoming any more
        fee, n, p = paid(_open_market(c, skip=promo))
        assert fee == _fee("0.5", n, p) > 0
        assert paid(_open_market(c, promo))[0] == 0

        # 37 h: the override is cleared, the promo event pays the series terms and no longer shows an override
        ex.advance(10 * 3600)
        assert "fee_type_override" not in c.get_event(promo)
        fee, n, p = paid(_open_market(c, promo))
        assert fee == _fee("0.5", n, p) > 0


def test_fee_changes_land_typed_and_stage(fresh_exchange, tmp_path):
    from kalshi_lake import warehouse

    acct = fresh_exchange.create_account(balance_cents=1_000_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    lake = Lake.from_settings(settings)
    with KalshiClient(settings) as c:
        # a narrowed selection still lands every change (the lists are small and outside the hierarchy)
        first = pull(c, lake, STREAMS, Selection(tickers=["KXBTC-NOPE"]))
        assert first.ok, [(s.stream, s.error) for s in first.streams]
        assert {s.stream: s.rows for s in first.streams} == {"series_fee_changes": 2, "event_fee_changes": 2}
        again = pull(c, lake, STREAMS, Selection())
        assert again.ok and all(s.rows == 0 for s in again.streams)  # unchanged states are not landed twice
    schema = lake.read("series_fee_changes").schema
    assert str(schema.field("fee_multiplier").type) == "decimal128(18, 6)"
    assert str(schema.field("scheduled_ts").type) == "timestamp[us, tz=UTC]"

    build = warehouse.build(settings)
    assert build.ok, str(build)
    con = warehouse.connect(str(settings.warehouse_path))
    rows = con.execute(
        "select series_ticker, fee_type, fee_multiplier from stg_series_fee_changes order by scheduled_ts"
    ).fetchall()
    assert rows == [
        ("KXINXD", "quadratic_with_maker_fees", Decimal("0.5")),
        ("KXHIGHNY", "quadratic", Decimal("0.5")),
    ]
    rows = con.execute(
        "select fee_type_override, fee_multiplier_override, clears_override from stg_event_fee_changes "
        "order by scheduled_ts"
    ).fetchall()
    assert rows == [("quadratic", Decimal("0"), False), (None, None, True)]
