"""Deposits and withdrawals end to end: the local exchange serves them (spec v3.21 GetDeposits / GetWithdrawals)
and moves the balance when a flow is applied; the lake lands each observed state; fct_balance_reconciliation
explains the balance, checked against numbers computed by hand."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.ingest.plan import PORTFOLIO_STREAMS
from kalshi_extract.ingest.pull import Selection, pull
from kalshi_extract.lake.store import Lake
from kalshi_extract.settings import Settings

CENT = Decimal("0.01")


def _balance_cents(client) -> int:
    return client.get_balance()["balance"]


def test_deposits_and_withdrawals_follow_the_spec_and_move_the_balance(fresh_exchange, tmp_path):
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=100_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c:
        d1 = ex.cash_flow(acct.key_id, "deposit", 50_000, fee_cents=150, type="wire")
        assert _balance_cents(c) == 100_000 + 50_000 - 150
        pend = ex.cash_flow(acct.key_id, "deposit", 7_000, status="pending")
        assert _balance_cents(c) == 149_850  # pending: not in the balance
        w = ex.cash_flow(acct.key_id, "withdrawal", 20_000, fee_cents=25)
        assert _balance_cents(c) == 149_850 - 20_025
        with pytest.raises(ValueError, match="insufficient balance"):  # nothing changes
            ex.cash_flow(acct.key_id, "withdrawal", 10_000_000)
        assert _balance_cents(c) == 129_825
        ex.advance(60)
        ex.finalize_cash_flow(acct.key_id, pend["id"], "applied")
        assert _balance_cents(c) == 136_825
        failed = ex.cash_flow(acct.key_id, "deposit", 1_000, status="pending")
        ex.finalize_cash_flow(acct.key_id, failed["id"], "failed")
        assert _balance_cents(c) == 136_825

        deposits = list(c.get_deposits())
        withdrawals = list(c.get_withdrawals())
        # newest first; every spec field, integers as the spec types them
        assert [d["id"] for d in deposits] == [failed["id"], pend["id"], d1["id"]]
        assert set(deposits[0]) == {
            "id",
            "status",
            "type",
            "amount_cents",
            "fee_cents",
            "created_ts",
            "finalized_ts",
        }
        assert [(d["status"], d["amount_cents"], d["fee_cents"]) for d in deposits] == [
            ("failed", 1_000, 0),
            ("applied", 7_000, 0),
            ("applied", 50_000, 150),
        ]
        assert deposits[1]["finalized_ts"] == deposits[1]["created_ts"] + 60
        assert [(x["id"], x["type"], x["amount_cents"]) for x in withdrawals] == [(w["id"], "ach", 20_000)]
        pages = list(c.paginate("/portfolio/deposits", {"limit": 1}, "deposits"))
        assert [p.items[0]["id"] for p in pages] == [d["id"] for d in deposits]  # cursor pages, each once


def test_limit_above_500_is_a_bad_request(fresh_exchange, tmp_path):
    from kalshi_extract.errors import BadRequestError

    acct = fresh_exchange.create_account(balance_cents=1_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    with KalshiClient(settings) as c, pytest.raises(BadRequestError, match="limit"):
        list(c.get_withdrawals(limit=501))


def _buy(client, ticker: str, price: str, count: str) -> None:
    client.post(
        "/portfolio/events/orders",
        {
            "ticker": ticker,
            "side": "bid",
            "count": count,
            "price": price,
            "time_in_force": "immediate_or_cancel",
            "self_trade_prevention_type": "taker_at_cross",
            "client_order_id": str(uuid.uuid4()),
        },
    )


def test_balance_reconciliation_explains_the_balance(fresh_exchange, tmp_path):
    from kalshi_lake import warehouse

    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_000)  # $10,000.00
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path), KALSHI_ACCOUNT="a1"))
    lake = Lake.from_settings(settings)
    streams = list(PORTFOLIO_STREAMS)
    with KalshiClient(settings) as c:

        def run():
            res = pull(c, lake, streams, Selection())
            assert res.ok, [(s.stream, s.error) for s in res.streams]

        run()  # day 0: the anchor, $10,000.00
        ex.advance(86_400)
        # day 1: +$500.00 deposit with a $1.50 fee, -$200.00 withdrawal, a $70.00 deposit still pending, one buy
        ex.cash_flow(acct.key_id, "deposit", 50_000, fee_cents=150)
        ex.cash_flow(acct.key_id, "withdrawal", 20_000)
        ex.cash_flow(acct.key_id, "deposit", 7_000, status="pending")
        m = min(
            (
                m
                for m in c.get_markets(status="open")
                if Decimal("0.05") <= Decimal(m["yes_ask_dollars"]) <= Decimal("0.95")
            ),
            key=lambda m: m["close_time"],
        )
        price = Decimal(m["yes_ask_dollars"])
        _buy(c, m["ticker"], m["yes_ask_dollars"], "3.00")
        fills = list(c.get_fills(ticker=m["ticker"]))
        assert fills and all(Decimal(f["yes_price_dollars"]) == price for f in fills)  # one price level here
        bought = sum(Decimal(f["count_fp"]) for f in fills)
        fee = sum(Decimal(f["fee_cost"]) for f in fills)
        balance_day1 = _balance_cents(c)
        run()
        # the market settles within days: cash gets bought x value (realized = bought x (value - price), the
        # open cost bought x price released)
        ex.advance(6 * 86_400)
        (settlement,) = [s for s in c.get_settlements() if s["ticker"] == m["ticker"]]
        value = Decimal(settlement["value"]) / 100 if settlement["market_result"] != "void" else None
        balance_day7 = _balance_cents(c)
        run()
        # a deposit the lake has not landed (only the balance is pulled): the difference reports it, nothing fails
        ex.advance(86_400)
        ex.cash_flow(acct.key_id, "deposit", 1_234)
        assert pull(c, lake, ["balance"], Selection()).ok

    build = warehouse.build(settings)
    assert build.ok, str(build)
    con = warehouse.connect(str(settings.warehouse_path))
    rows = con.execute(
        "select reconciliation, start_balance_dollars, deposits_dollars, deposit_fees_dollars, withdrawals_dollars,"
        " withdrawal_fees_dollars, realized_pnl_dollars, fees_dollars, open_cost_change_dollars,"
        " expected_balance_dollars, balance_dollars, difference_dollars, pending_flows"
        " from fct_balance_reconciliation order by snapshot_ts"
    ).fetchall()
    assert len(rows) == 4
    assert rows[0][0] == "anchor" and rows[0][10] == Decimal("10000.00")
    got = dict(
        zip(
            (
                "reconciliation start deposits deposit_fees withdrawals withdrawal_fees realized fees open_cost "
                "expected balance difference pending"
            ).split(),
            rows[1],
            strict=True,
        )
    )
    # by hand: 10000 + 500 - 1.50 - 200 + 0 - fee - 3 x price; the exchange keeps $0.0001 and shows whole cents
    expected = Decimal("10000") + Decimal("500") - Decimal("1.50") - Decimal("200") - fee - bought * price
    assert (got["start"], got["deposits"], got["deposit_fees"], got["withdrawals"]) == (
        Decimal("10000"),
        Decimal("500"),
        Decimal("1.50"),
        Decimal("200"),
    )
    assert (got["realized"], got["fees"], got["open_cost"]) == (0, fee, bought * price)
    assert got["expected"] == expected
    assert got["balance"] == Decimal(balance_day1) / 100 == expected.quantize(CENT, rounding="ROUND_FLOOR")
    assert got["difference"] == got["balance"] - expected
    assert got["reconciliation"] == ("match" if got["difference"] == 0 else "cent_rounding")
    assert got["pending"] == 1

    last = dict(
        zip(
            ("reconciliation realized open_cost expected balance difference").split(),
            (rows[2][i] for i in (0, 6, 8, 9, 10, 11)),
            strict=True,
        )
    )
    assert value is not None, "the picked market was voided; the test needs a priced settlement"
    assert (last["realized"], last["open_cost"]) == (bought * (value - price), -bought * price)
    # start = the day-1 balance as shown (whole cents); the payout is bought x value
    assert last["expected"] == Decimal(balance_day1) / 100 + bought * value
    assert last["balance"] == Decimal(balance_day7) / 100
    assert abs(last["difference"]) < CENT and last["reconciliation"] in ("match", "cent_rounding")

    missing = rows[3]
    assert (missing[0], missing[11]) == ("unexplained", Decimal("12.34"))


def test_cash_flow_pages_validate_against_the_spec(fresh_exchange, tmp_path):
    from tests.sim import test_contract as contract

    if not contract.SPEC.exists():
        pytest.skip("the OpenAPI spec folder is absent")
    spec = contract.yaml.safe_load(contract.SPEC.read_text())
    validator_for = contract.validator_for.__wrapped__(spec)
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=100_000)
    settings = Settings.load(environ=dict(acct.env, KALSHI_LAKE_DIR=str(tmp_path)))
    pending = ex.cash_flow(acct.key_id, "withdrawal", 500, status="pending")
    ex.cash_flow(acct.key_id, "deposit", 900, type="debit")
    ex.finalize_cash_flow(acct.key_id, pending["id"], "returned")
    with KalshiClient(settings) as c:
        for path, key in (("/portfolio/deposits", "deposits"), ("/portfolio/withdrawals", "withdrawals")):
            for page in c.paginate(path, {"limit": 1}, key):
                contract.check(spec, validator_for, "get", path, 200, page.data)
            whole = c.get(path, {"limit": 500})
            contract.check(spec, validator_for, "get", path, 200, whole)
            assert [f["status"] for f in whole[key]] == (
                ["returned"] if key == "withdrawals" else ["applied"]
            )
