"""The exactly-once protocol, decision by decision, against a scripted in-process order book.

The end-to-end proof (a real local exchange that drops the response of an accepted order) is in
test_cli_e2e.py; these tests pin each branch of the retry decision: what is sent again, what is looked up,
what is journaled, and when the module gives up.
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from kalshi_extract.errors import (
    BadRequestError,
    ClientOrderIdConflict,
    ConflictError,
    OrderError,
    OrderOutcomeUnknown,
    RateLimitError,
    ServerError,
    TransportError,
)
from kalshi_extract.orders.executor import CREATE_PATH, Executor
from kalshi_extract.orders.journal import MemoryJournal


class ScriptedBook:
    """Just enough of the client for the executor: POST create, GET orders (paginate), GET one order.

    ``script`` lists what happens to each POST in turn:
    ok | drop (accepted, then the response is lost) | 500 (not processed) | 500-accepted | 429 | refused | 400
    ``hide_next_lookups`` makes the next N lookups miss a just-created order (visibility lag).
    """

    def __init__(self, script):
        self.script = list(script)
        self.orders: dict[str, dict] = {}
        self.posts: list[dict] = []
        self.lookups = 0
        self.hide_next_lookups = 0
        self.fail_lookups = False
        self.settings = SimpleNamespace(has_key=True, account="t", env="local")

    def _create(self, body):
        if any(o["client_order_id"] == body["client_order_id"] for o in self.orders.values()):
            raise ConflictError(
                "order with this client_order_id already exists", status=409, method="POST", path=CREATE_PATH
            )
        oid = str(uuid.uuid4())
        self.orders[oid] = {
            "order_id": oid,
            "client_order_id": body["client_order_id"],
            "ticker": body["ticker"],
            "status": "resting",
            "fill_count_fp": "0.00",
            "remaining_count_fp": body["count"],
            "yes_price_dollars": body["price"],
            "book_side": body["side"],
        }
        return {
            "order_id": oid,
            "client_order_id": body["client_order_id"],
            "fill_count": "0.00",
            "remaining_count": body["count"],
            "ts_ms": 1,
        }

    def post(self, path, json):
        self.posts.append(json)
        what = self.script.pop(0) if self.script else "ok"
        if what == "ok":
            return self._create(json)
        if what == "drop":
            self._create(json)
            raise TransportError("ConnectionError: connection reset by peer", method="POST", path=path)
        if what == "500-accepted":
            self._create(json)
            raise ServerError("internal", status=500, method="POST", path=path)
        if what == "500":
            raise ServerError("internal", status=500, method="POST", path=path)
        if what == "429":
            raise RateLimitError("too many requests", status=429, method="POST", path=path)
        if what == "refused":
            raise TransportError("ConnectionError: refused", method="POST", path=path, maybe_sent=False)
        if what == "400":
            raise BadRequestError("invalid price", status=400, code="invalid_price", method="POST", path=path)
        raise AssertionError(what)

    def paginate(self, path, params=None, data_key="trades", cursor=None):
        assert path == "/portfolio/orders"
        self.lookups += 1
        if self.fail_lookups:
            raise TransportError("timeout", method="GET", path=path)
        items = [o for o in self.orders.values() if params.get("ticker") in (None, o["ticker"])]
        if self.hide_next_lookups:
            self.hide_next_lookups -= 1
            items = []
        yield SimpleNamespace(items=list(reversed(items)), cursor=None)


def _req(coid=None):
    return {
        "ticker": "KX-T",
        "client_order_id": coid or str(uuid.uuid4()),
        "side": "bid",
        "count": "3.00",
        "price": "0.4500",
        "time_in_force": "good_till_canceled",
        "self_trade_prevention_type": "taker_at_cross",
    }


def _exec(book):
    journal = MemoryJournal()
    return Executor(book, journal, max_attempts=3, sleep=lambda s: None), journal


def test_accepted_first_time():
    book = ScriptedBook(["ok"])
    ex, journal = _exec(book)
    res = ex.create(_req("c1"))
    assert (res.outcome, res.attempts, res.status) == ("accepted", 1, "resting")
    assert journal.phases("c1") == ["intent", "sent", "accepted"]
    assert book.lookups == 0


def test_dropped_response_is_resolved_by_lookup_not_resent():
    book = ScriptedBook(["drop"])
    ex, journal = _exec(book)
    res = ex.create(_req("c2"))
    assert res.outcome == "resolved" and res.order_id in book.orders
    assert len(book.posts) == 1 and len(book.orders) == 1
    assert journal.phases("c2") == ["intent", "sent", "unknown", "resolved"]
    assert [e.action for e in journal.events][-1] == "place"
    assert journal.events[-1].order_id == res.order_id


def test_server_error_not_processed_is_sent_again_with_same_id():
    book = ScriptedBook(["500", "ok"])
    ex, _ = _exec(book)
    res = ex.create(_req("c3"))
    assert res.outcome == "accepted" and res.attempts == 2
    assert [p["client_order_id"] for p in book.posts] == ["c3", "c3"]
    assert len(book.orders) == 1 and book.lookups == 1


def test_lagging_lookup_then_duplicate_409_resolves_to_one_order():
    book = ScriptedBook(["500-accepted"])  # landed, but the first lookup cannot see it yet
    book.hide_next_lookups = 1
    ex, journal = _exec(book)
    res = ex.create(_req("c4"))
    assert res.outcome == "resolved"
    assert len(book.posts) == 2  # the re-send came back 409 (duplicate client_order_id) ...
    assert len(book.orders) == 1  # ... so there is still exactly one order
    assert 409 in [e.http_status for e in journal.events]


def test_an_unknown_outcome_found_with_other_terms_is_a_conflict_not_resolved():
    book = ScriptedBook(["ok", "500"])
    ex, journal = _exec(book)
    first = ex.create(_req("c-reused"))
    other = {**_req("c-reused"), "count": "9.00", "price": "0.4400"}
    with pytest.raises(
        ClientOrderIdConflict, match="YES price 0.4500, not 0.4400; count 3.00, not 9.00"
    ) as info:
        ex.create(other)  # a 5xx, then the lookup by client_order_id finds the first order
    assert info.value.order["order_id"] == first.order_id and info.value.client_order_id == "c-reused"
    assert not info.value.retriable
    assert len(book.posts) == 2 and len(book.orders) == 1  # nothing re-sent after the lookup
    assert journal.phases("c-reused")[-4:] == ["intent", "sent", "unknown", "rejected"]
    assert journal.events[-1].order_id is None


def test_a_409_for_an_id_used_on_another_market_is_a_conflict_not_unknown():
    book = ScriptedBook(["ok"])
    ex, _ = _exec(book)
    ex.create(_req("c-elsewhere"))
    with pytest.raises(ClientOrderIdConflict, match="ticker KX-T, not KX-OTHER"):
        ex.create(
            {**_req("c-elsewhere"), "ticker": "KX-OTHER"}
        )  # the ticker's lookup misses; the account's finds
    assert len(book.posts) == 2 and len(book.orders) == 1


@pytest.mark.parametrize(
    "change,same",
    [
        ({}, True),
        ({"side": "ask"}, False),
        ({"price": "0.45"}, True),
        ({"count": "3"}, True),
        ({"count": "4.00"}, False),
        ({"count": "5.00", "reduce_only": True}, True),
    ],
)
def test_order_differences(change, same):
    from kalshi_extract.orders.results import order_differences

    order = {
        "ticker": "KX-T",
        "book_side": "bid",
        "yes_price_dollars": "0.4500",
        "initial_count_fp": "3.00",
        "fill_count_fp": "1.00",
        "remaining_count_fp": "0.00",
        "status": "canceled",
    }
    assert (order_differences(order, {**_req(), **change}) == []) is same
    legacy = {k: v for k, v in order.items() if k not in ("book_side", "initial_count_fp")}
    legacy.update(side="no", action="sell")  # sell NO = buy YES = a bid; 1 filled of 3, then canceled
    assert (order_differences(legacy, {**_req(), **change}) == []) is (same or change == {"count": "4.00"})


def test_rate_limited_or_refused_is_resent_without_lookup():
    book = ScriptedBook(["429", "refused", "ok"])
    ex, _ = _exec(book)
    res = ex.create(_req())
    assert res.outcome == "accepted" and res.attempts == 3 and book.lookups == 0


def test_always_refused_raises_the_error_not_unknown():
    book = ScriptedBook(["429", "429", "429"])
    ex, _ = _exec(book)
    with pytest.raises(RateLimitError):
        ex.create(_req())
    assert not book.orders


def test_rejected_is_raised_and_journaled_without_resend():
    book = ScriptedBook(["400"])
    ex, journal = _exec(book)
    with pytest.raises(BadRequestError, match="invalid price"):
        ex.create(_req("c5"))
    assert journal.phases("c5") == ["intent", "sent", "rejected"]
    assert len(book.posts) == 1 and book.lookups == 0


def test_gives_up_with_outcome_unknown_after_max_attempts():
    book = ScriptedBook(["500", "500", "500"])
    ex, _ = _exec(book)
    with pytest.raises(OrderOutcomeUnknown, match="3 attempt"):
        ex.create(_req())
    assert len(book.posts) == 3


def test_failed_lookup_stops_without_resending():
    book = ScriptedBook(["drop"])
    book.fail_lookups = True
    ex, journal = _exec(book)
    with pytest.raises(OrderOutcomeUnknown, match="lookup failed"):
        ex.create(_req("c6"))
    assert len(book.posts) == 1
    assert journal.phases("c6")[-1] == "unknown"


def test_journal_failure_means_nothing_is_sent():
    class Broken:
        def write(self, events):
            raise OSError("disk full")

    book = ScriptedBook(["ok"])
    ex = Executor(book, Broken(), sleep=lambda s: None)
    with pytest.raises(OrderError, match="nothing was sent"):
        ex.create(_req())
    assert book.posts == []


def test_intent_is_written_before_the_request():
    book = ScriptedBook(["ok"])
    seen_at_send = []

    class Recording(MemoryJournal):
        pass

    journal = Recording()
    original = book.post

    def post(path, json):
        seen_at_send.append(list(journal.phases()))
        return original(path, json)

    book.post = post
    Executor(book, journal, sleep=lambda s: None).create(_req())
    assert seen_at_send == [["intent"]]


def test_resolve_pending_after_a_crash_between_send_and_answer():
    from kalshi_extract.orders.front import Orders
    from kalshi_extract.orders.journal import OrderEvent, pending_intents

    book = ScriptedBook(["ok"])
    journal = MemoryJournal()
    landed, lost = _req("landed"), _req("lost")
    # the process journaled both intents and sent one, then died before any answer was journaled
    journal.write(
        [
            OrderEvent("place", "intent", "landed", ticker="KX-T", request=landed),
            OrderEvent("place", "intent", "lost", ticker="KX-T", request=lost),
        ]
    )
    book._create(landed)
    assert [r["client_order_id"] for r in pending_intents(journal.rows())] == ["landed", "lost"]
    orders = Orders(book, journal=journal, sleep=lambda s: None)
    result = dict(orders.resolve_pending())
    assert result["landed"]["client_order_id"] == "landed" and result["lost"] is None
    assert pending_intents(journal.rows()) == []
    assert book.posts == []  # resolving never sends


def test_resolve_pending_does_not_take_another_order_for_the_intent():
    from kalshi_extract.orders.front import Orders
    from kalshi_extract.orders.journal import OrderEvent, pending_intents

    book = ScriptedBook([])
    journal = MemoryJournal()
    book._create(_req("shared"))  # an order placed earlier under this id, with other terms
    intent = {**_req("shared"), "count": "9.00"}
    journal.write([OrderEvent("place", "intent", "shared", ticker="KX-T", request=intent)])
    result = dict(Orders(book, journal=journal, sleep=lambda s: None).resolve_pending())
    assert result == {"shared": None}
    assert journal.events[-1].phase == "rejected" and "count 3.00, not 9.00" in journal.events[-1].error
    assert pending_intents(journal.rows()) == []


def test_pending_ignores_settled_intents():
    from kalshi_extract.orders.journal import pending_intents

    book = ScriptedBook(["ok", "400"])
    ex, journal = _exec(book)
    ex.create(_req("a"))
    with pytest.raises(BadRequestError):
        ex.create(_req("b"))
    assert pending_intents(journal.rows()) == []


class ChangingBook(ScriptedBook):
    """Adds GET one order, amend/decrease (POST) and cancel (DELETE) with the same scripted faults."""

    def get(self, path, params=None):
        oid = path.rsplit("/", 1)[-1]
        return {"order": dict(self.orders[oid])}

    def _apply(self, path, body):
        oid = path.split("/")[-2] if path.endswith(("amend", "decrease")) else path.rsplit("/", 1)[-1]
        o = self.orders[oid]
        if path.endswith("/decrease"):
            from decimal import Decimal

            rem = Decimal(o["remaining_count_fp"])
            new = Decimal(body["reduce_to"]) if "reduce_to" in body else rem - Decimal(body["reduce_by"])
            o["remaining_count_fp"] = f"{new:.2f}"
        elif path.endswith("/amend"):
            o.update(
                yes_price_dollars=body["price"],
                remaining_count_fp=body["count"],
                client_order_id=body["updated_client_order_id"],
            )
        else:
            o.update(status="canceled", remaining_count_fp="0.00")
        return {"order_id": oid}

    def _write(self, path, body):
        self.posts.append(body)
        what = self.script.pop(0) if self.script else "ok"
        if what == "ok":
            return self._apply(path, body)
        if what == "drop":
            self._apply(path, body)
            raise TransportError("ConnectionError: reset", method="POST", path=path)
        if what == "500":
            raise ServerError("internal", status=500, method="POST", path=path)
        raise AssertionError(what)

    def post(self, path, json):
        if path == CREATE_PATH:
            return super().post(path, json)
        return self._write(path, json)

    def delete(self, path, params=None, json=None):
        return self._write(path, {"params": params})


def _resting(book):
    return book._create(_req())["order_id"]


@pytest.mark.parametrize("fault,sends", [("drop", 1), ("500", 2)])
def test_decrease_by_is_resolved_against_the_target_not_repeated(fault, sends):
    from decimal import Decimal

    book = ChangingBook([])
    oid = _resting(book)  # 3 resting
    book.script = [fault]
    ex, journal = _exec(book)
    res = ex.decrease(oid, "KX-T", {"reduce_by": "1.00"}, Decimal("2"))
    assert book.orders[oid]["remaining_count_fp"] == "2.00"  # reduced by 1 once, never twice
    assert len(book.posts) == sends
    assert res.outcome == ("resolved" if fault == "drop" else "accepted")


@pytest.mark.parametrize("fault", ["drop", "500"])
def test_cancel_and_amend_resolve_by_lookup(fault):
    book = ChangingBook([])
    oid = _resting(book)
    book.script = [fault]
    ex, _ = _exec(book)
    body = {
        "ticker": "KX-T",
        "side": "bid",
        "price": "0.4400",
        "count": "3.00",
        "updated_client_order_id": "new-coid",
    }
    res = ex.amend(oid, body)
    assert book.orders[oid]["yes_price_dollars"] == "0.4400"
    assert res.outcome == ("resolved" if fault == "drop" else "accepted")
    book.script = [fault]
    res = ex.cancel(oid, book.orders[oid])
    assert book.orders[oid]["status"] == "canceled"
    assert res.outcome == ("resolved" if fault == "drop" else "accepted")


def test_outcome_journal_failure_does_not_hide_a_placed_order(caplog):
    class IntentOnly(MemoryJournal):
        def write(self, events):
            if any(e.phase != "intent" for e in events):
                raise OSError("disk full")
            super().write(events)

    from kalshi_extract.orders.journal import pending_intents

    book = ScriptedBook(["ok"])
    journal = IntentOnly()
    res = Executor(book, journal, sleep=lambda s: None).create(_req("c9"))
    assert res.outcome == "accepted" and len(book.orders) == 1
    assert "orders --pending" in caplog.text
    assert [r["client_order_id"] for r in pending_intents(journal.rows())] == ["c9"]
