"""Contract test for the WebSocket: every message type the local exchange sends validates against the
AsyncAPI spec's message schema and has the field names and value formats of the genuine recorded frames.

Where the saved spec (2026-06-10) and reality differ, reality wins and is written down here:
- ``marketTicker`` has ``pattern: ^[A-Z0-9-]+$`` but the spec's own examples (``FED-23DEC-T3.00``) and every
  real ticker with a decimal strike contain ``.``; the pattern is relaxed to allow it.
- the integer-cent fields of the old payloads (``price``, ``yes_price``, ``count``, ``delta``, ``yes``/``no``
  levels, ``volume``, ``open_interest``, ``yes_bid``/``yes_ask``) are gone: the exchange must never send them.
"""

from __future__ import annotations

import copy
import re

import orjson
import pytest

from kalshi_sim import LocalExchange
from tests.shared_paths import SHARED
from tests.sim.helpers import SimClient, order
from tests.sim.ws_helpers import WsClient

jsonschema = pytest.importorskip("jsonschema")
yaml = pytest.importorskip("yaml")

SPEC = SHARED / "kalshi-openapi" / "asyncapi-2026-06-10.yaml"
REAL = SHARED / "real-data" / "fortuna_demo" / "ws__orderbook_trade_yes.jsonl"
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="the AsyncAPI spec is absent")

# message type (and, for "ok", the shape) → the spec's components/messages entry
MESSAGE_OF = {
    "subscribed": "subscribedResponse",
    "unsubscribed": "unsubscribedResponse",
    "error": "errorResponse",
    "orderbook_snapshot": "orderbookSnapshot",
    "orderbook_delta": "orderbookDelta",
    "ticker": "ticker",
    "trade": "trade",
    "fill": "fill",
    "market_position": "marketPosition",
    "user_order": "userOrder",
    "market_lifecycle_v2": "marketLifecycleV2",
    "event_lifecycle": "eventLifecycle",
}
LEGACY_KEYS = {
    "price",
    "yes_price",
    "no_price",
    "count",
    "delta",
    "yes",
    "no",
    "volume",
    "open_interest",
    "yes_bid",
    "yes_ask",
}
DOLLARS = re.compile(r"^-?\d+\.\d{4}(\d{2})?$")
FP = re.compile(r"^-?\d+\.\d{2}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


@pytest.fixture(scope="module")
def spec():
    doc = yaml.safe_load(SPEC.read_text())
    doc = copy.deepcopy(doc)
    doc["components"]["schemas"]["marketTicker"]["pattern"] = r"^[A-Z0-9.-]+$"
    return doc


def _validator(spec, message: str):
    schema = {"$ref": f"#/components/messages/{message}/payload", "components": spec["components"]}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def frames():
    """A session that makes the exchange send every message type it has."""
    with LocalExchange(seed=9, size="tiny") as ex:
        acct = ex.create_account(balance_cents=1_000_000)
        rest = SimClient(ex.base_url, acct)
        ms = rest.get_json("/markets", {"status": "open", "series_ticker": "KXBTC"})["markets"]
        m = next(m for m in ms if m["yes_bid_dollars"] != "0.0000" and m["yes_ask_dollars"] != "1.0000")
        t = m["ticker"]
        with WsClient(ex.ws_url, acct) as ws:
            ws.command(
                "subscribe",
                {
                    "channels": ["orderbook_delta", "trade", "ticker"],
                    "market_tickers": [t],
                    "send_initial_snapshot": True,
                },
            )
            ws.command(
                "subscribe", {"channels": ["fill", "user_orders", "market_positions", "market_lifecycle_v2"]}
            )
            ws.command("subscribe", {"channels": ["nope"]})
            ws.command("update_subscription", {"sid": 1, "action": "get_snapshot", "market_ticker": t})
            r = rest.post(
                "/portfolio/events/orders",
                order(t, "bid", "2.00", m["yes_ask_dollars"], "immediate_or_cancel"),
            )
            assert r.status_code == 201
            ex.advance(2 * 86_400)
            ws.sync(timeout=30)
            ws.command("unsubscribe", {"sids": [1]})
            return list(ws.frames)


def test_every_message_type_is_sent(frames):
    kinds = {f["type"] for f in frames}
    assert kinds >= set(MESSAGE_OF) | {"ok"}, set(MESSAGE_OF) - kinds


def test_every_message_validates_against_the_asyncapi_schema(spec, frames):
    validators = {k: _validator(spec, v) for k, v in MESSAGE_OF.items()}
    ok_update = _validator(spec, "okResponse")
    ok_list = _validator(spec, "listSubscriptionsResponse")
    for f in frames:
        if f["type"] == "ok":
            (ok_list if isinstance(f.get("msg"), list) else ok_update).validate(f)
        else:
            validators[f["type"]].validate(f)


def test_no_legacy_integer_fields(frames):
    for f in frames:
        msg = f.get("msg")
        if isinstance(msg, dict):
            assert not (LEGACY_KEYS & msg.keys()), f


def test_same_fields_and_formats_as_the_recorded_frames(frames):
    real = [orjson.loads(line) for line in REAL.read_text().splitlines() if line.strip()]
    ours = {f["type"]: f for f in frames}
    for rf in real:
        f = ours[rf["type"]]
        assert f.keys() - {"id"} == rf.keys() - {"id"}, rf["type"]
        assert f["msg"].keys() == rf["msg"].keys(), rf["type"]
        for k, v in rf["msg"].items():
            assert type(f["msg"][k]) is type(v), (rf["type"], k)
    snap = next(f["msg"] for f in frames if f["type"] == "orderbook_snapshot" and "no_dollars_fp" in f["msg"])
    for side in ("yes_dollars_fp", "no_dollars_fp"):
        for price, qty in snap.get(side, []):
            assert DOLLARS.match(price) and FP.match(qty)
    for f in frames:
        m = f.get("msg")
        if f["type"] == "orderbook_delta":
            assert DOLLARS.match(m["price_dollars"]) and FP.match(m["delta_fp"])
            assert RFC3339.match(m["ts"]) and m["ts_ms"] // 1000 == _epoch(m["ts"])
        if f["type"] in ("trade", "fill", "ticker"):
            assert m["ts"] == m["ts_ms"] // 1000
            for k, v in m.items():
                if k.endswith("_dollars"):
                    assert DOLLARS.match(v), (k, v)
                if k.endswith("_fp"):
                    assert FP.match(v), (k, v)


def _epoch(stamp: str) -> int:
    import datetime as dt

    return int(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
