"""Contract test of the 2026 additions (fee changes, order groups, event fee overrides): every response the local
exchange sends for them validates against the official OpenAPI spec (the fixtures of test_contract.py)."""

from __future__ import annotations

from tests.sim.helpers import SimClient
from tests.sim.test_contract import check, spec, validator_for  # noqa: F401  (fixtures)

GROUP = "/portfolio/order_groups/{order_group_id}"


def test_fee_changes_and_overrides_match_the_spec(fresh_exchange, spec, validator_for):  # noqa: F811
    c = SimClient(fresh_exchange.base_url)
    for params in ({}, {"show_historical": "true"}, {"series_ticker": "KXINXD", "show_historical": "true"}):
        body = c.get_json("/series/fee_changes", params)
        check(spec, validator_for, "get", "/series/fee_changes", 200, body)
    assert len(body["series_fee_change_arr"]) == 1
    pages = c.pages("/events/fee_changes", "event_fee_changes", {"limit": 1})
    assert len(pages) == 2 and pages[-1]["cursor"] == ""
    for body in pages:
        check(spec, validator_for, "get", "/events/fee_changes", 200, body)
    promo = pages[0]["event_fee_changes"][0]["event_ticker"]
    fresh_exchange.advance(13 * 3600)  # the override is in effect: the event carries it
    body = c.get_json(f"/events/{promo}")
    check(spec, validator_for, "get", "/events/{event_ticker}", 200, body)
    assert body["event"]["fee_multiplier_override"] == 0


def test_order_group_operations_match_the_spec(fresh_exchange, spec, validator_for):  # noqa: F811
    c = SimClient(fresh_exchange.base_url, fresh_exchange.create_account(balance_cents=100_000))
    r = c.post("/portfolio/order_groups/create", {"contracts_limit": 3})
    assert r.status_code == 201
    check(spec, validator_for, "post", "/portfolio/order_groups/create", 201, r.json())
    gid = r.json()["order_group_id"]
    check(spec, validator_for, "get", "/portfolio/order_groups", 200, c.get_json("/portfolio/order_groups"))
    check(spec, validator_for, "get", GROUP, 200, c.get_json(f"/portfolio/order_groups/{gid}"))
    for op, body in (("limit", {"contracts_limit_fp": "5.00"}), ("trigger", {}), ("reset", {})):
        r = c.request("PUT", f"/portfolio/order_groups/{gid}/{op}", json=body)
        assert r.status_code == 200, (op, r.text)
        check(spec, validator_for, "put", GROUP + "/" + op, 200, r.json())
    r = c.request(
        "PUT",
        f"/portfolio/order_groups/{gid}/limit",
        json={"contracts_limit": 2, "contracts_limit_fp": "3.00"},
    )
    assert r.status_code == 400  # the two spellings disagree
    check(spec, validator_for, "put", GROUP + "/limit", 400, r.json())
    r = c.delete(f"/portfolio/order_groups/{gid}")
    assert r.status_code == 200
    check(spec, validator_for, "delete", GROUP, 200, r.json())
    assert c.get(f"/portfolio/order_groups/{gid}").status_code == 404
