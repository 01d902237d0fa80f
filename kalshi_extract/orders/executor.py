"""Exactly-once execution of order writes — the one retry decision point for orders.

The HTTP client never retries a POST/DELETE. This module decides, per write:

1. The write carries its identity before the first attempt: a create has a ``client_order_id`` (uuid4), an
   amend an ``updated_client_order_id``; changes to an existing order are identified by its ``order_id``.
2. The ``intent`` row is journaled (durably, in the lake) before sending; if that fails, nothing is sent.
3. One attempt is sent and its outcome classified:
   - success → ``accepted``;
   - 4xx other than 409/429 → ``rejected`` (the exchange refused; the error is raised, nothing to resolve);
   - 429, or a transport error that certainly never left this machine (connection refused, connect timeout)
     → ``rejected`` for that attempt, wait, send again (same identity);
   - timeout / connection reset / truncated body / 5xx → ``unknown``: the outcome is **resolved by looking it
     up** (a create: list the ticker's newest orders and match ``client_order_id``; an amend/decrease/cancel: get
     the order and check whether the change is visible). Found/applied → ``resolved``, done. Not found →
     wait, send again with the same identity;
   - 409 on a create = the ``client_order_id`` already names an order → look it up (the ticker's newest orders,
     then the account's, for an id reused on another market) → ``resolved``.
   A create found by lookup is only ``resolved`` if it is the order the request asked for (same ticker, side,
   price and count: ``results.order_differences``). An order with other terms means the id was reused: this
   order was never placed → ``rejected`` and :class:`ClientOrderIdConflict`, nothing more sent.
4. After ``max_attempts`` sends without a decision → :class:`OrderOutcomeUnknown` naming the
   ``client_order_id`` so the user can look it up; never a blind re-send.

Because every re-send reuses the same ``client_order_id``, a first attempt that landed but was not yet visible
to the lookup makes the re-send fail with 409, which is again resolved by lookup: one order, never two.
``decrease(reduce_by=…)`` is resolved against the target remaining count computed before sending.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from kalshi_extract.errors import (
    ClientOrderIdConflict,
    ConflictError,
    KalshiApiError,
    KalshiLakeError,
    NotFoundError,
    OrderError,
    OrderOutcomeUnknown,
    OrderValidationError,
    RateLimitError,
    ServerError,
    TransportError,
)
from kalshi_extract.orders.journal import Journal, OrderEvent
from kalshi_extract.orders.results import OrderResult, WriteResult, _book_side, _dec, order_differences, seg

__all__ = ["Executor", "OrderResult", "WriteResult", "CREATE_PATH", "BATCH_PATH", "seg"]

_log = logging.getLogger(__name__)

CREATE_PATH = "/portfolio/events/orders"
BATCH_PATH = "/portfolio/events/orders/batched"


def _status(exc: BaseException) -> int | None:
    return getattr(exc, "status", None)


class Executor:
    """Runs order writes exactly once (see the module docstring)."""

    def __init__(
        self, client: Any, journal: Journal, *, max_attempts: int = 3, sleep=None, lookup_pages: int = 5
    ):
        import time

        self.client = client
        self.journal = journal
        self.max_attempts = max(1, max_attempts)
        self._sleep = sleep or time.sleep
        self.lookup_pages = lookup_pages

    # --- journal -----------------------------------------------------------------------------------------------
    def _intent(self, events: list[OrderEvent]) -> None:
        try:
            self.journal.write(events)
        except Exception as exc:  # noqa: BLE001 - any failure to journal means we must not send
            raise OrderError(
                f"could not journal the order intent ({type(exc).__name__}: {exc}); nothing was sent. "
                "Check KALSHI_LAKE_DIR is writable."
            ) from exc

    def _flush(self, buf: list[OrderEvent]) -> None:
        # The write is decided by now. Raising here would report a placed order as failed (inviting a manual
        # duplicate) or mask the real error, so warn instead: the intent row is in the journal, and
        # `Orders.resolve_pending()` / `kalshi-lake orders --pending` settles it later.
        if not buf:
            return
        try:
            self.journal.write(buf)
        except Exception as exc:  # noqa: BLE001
            _log.warning(
                "order journal: could not record the outcome of %s (%s: %s); the intent is journaled, run "
                "`kalshi-lake orders --pending` to settle it",
                buf[0].client_order_id or buf[0].order_id,
                type(exc).__name__,
                exc,
            )

    def _backoff(self, attempt: int) -> None:
        self._sleep(min(2.0, 0.25 * (2 ** (attempt - 1))))

    # --- the loop ----------------------------------------------------------------------------------------------
    def _run(
        self,
        action: str,
        ev: Callable[..., OrderEvent],
        send: Callable[[], Any],
        resolve: Callable[[], Any],
        request: Any,
        conflict_means_done: bool = False,
        ok_status: int = 200,
        resolve_conflict: Callable[[], Any] | None = None,
    ) -> tuple[str, Any, int]:
        """Send until decided. Returns ``(outcome, value, attempts)``: ``accepted`` + response or ``resolved`` +
        whatever ``resolve`` returned (truthy = the write is visible on the exchange). After a 409,
        ``resolve_conflict`` (default ``resolve``) looks the write up."""
        self._intent([ev("intent", request=request)])
        buf: list[OrderEvent] = []
        last: BaseException | None = None
        uncertain = False  # did any attempt possibly reach the exchange?
        try:
            for attempt in range(1, self.max_attempts + 1):
                buf.append(ev("sent", request=request))
                try:
                    resp = send()
                except (KalshiApiError, TransportError) as exc:
                    last = exc
                    status = _status(exc)
                    if isinstance(exc, ConflictError) and conflict_means_done:
                        buf.append(
                            ev(
                                "unknown",
                                response=None,
                                http_status=409,
                                error=f"409 duplicate client_order_id (already placed): {exc}",
                            )
                        )
                    elif isinstance(exc, RateLimitError) or (
                        isinstance(exc, TransportError) and not exc.maybe_sent
                    ):
                        buf.append(
                            ev("rejected", http_status=status, error=f"not processed, will resend: {exc}")
                        )
                        self._backoff(attempt)
                        continue
                    elif isinstance(exc, (ServerError, TransportError)):
                        buf.append(ev("unknown", http_status=status, error=str(exc)))
                    else:
                        buf.append(ev("rejected", http_status=status, error=str(exc)))
                        raise
                    uncertain = True
                    conflict = isinstance(exc, ConflictError)
                    look = (resolve_conflict or resolve) if conflict else resolve
                    found = self._resolve(action, ev, look, buf)
                    if found:
                        return "resolved", found, attempt
                    if conflict:
                        self._backoff(attempt)  # visibility lag: the order exists; look once more
                        found = self._resolve(action, ev, look, buf)
                        if found:
                            return "resolved", found, attempt
                        break
                    self._backoff(attempt)
                    continue
                buf.append(ev("accepted", response=resp, http_status=ok_status))
                return "accepted", resp, attempt
            if not uncertain and last is not None:
                raise last  # every attempt was refused before processing (429 / not connected): nothing placed
            raise OrderOutcomeUnknown(
                f"{action}: the outcome is still unknown after {self.max_attempts} attempt(s) "
                f"(last error: {last}). Nothing more was sent; look it up before retrying."
            )
        finally:
            self._flush(buf)

    def _resolve(self, action: str, ev, resolve, buf: list[OrderEvent]) -> Any:
        try:
            found = resolve()
        except ClientOrderIdConflict as exc:
            buf.append(ev("rejected", error=str(exc)))  # decided: this write was never placed
            raise
        except KalshiLakeError as exc:
            buf.append(ev("unknown", error=f"lookup failed: {exc}", lookup=True))
            raise OrderOutcomeUnknown(
                f"{action}: the request may have reached the exchange and the lookup failed ({exc}); "
                "nothing more was sent. Look the order up before retrying."
            ) from exc
        if found:
            buf.append(ev("resolved", response=found))  # the write itself is decided
        else:
            buf.append(
                ev(
                    "resolved",
                    error="not on the exchange: will send again with the same identity",
                    lookup=True,
                )
            )
        return found

    @staticmethod
    def _event_factory(action: str, *, client_order_id=None, order_id=None, ticker=None):
        def ev(phase, *, request=None, response=None, http_status=None, error=None, lookup=False):
            oid = order_id
            if isinstance(response, dict) and response.get("order_id"):
                oid = response["order_id"]
            return OrderEvent(
                action="lookup" if lookup else action,
                phase=phase,
                client_order_id=client_order_id,
                order_id=oid,
                ticker=ticker,
                request=request,
                response=response,
                http_status=http_status,
                error=error,
            )

        return ev

    # --- reads used by the resolution --------------------------------------------------------------------------
    def lookup(self, client_order_id: str, ticker: str | None, subaccount: int | None = None) -> dict | None:
        """The order with ``client_order_id`` among the newest orders (of ``ticker``), or None."""
        params: dict[str, Any] = {"limit": 200}
        if ticker:
            params["ticker"] = ticker
        if subaccount is not None:
            params["subaccount"] = subaccount
        for n, page in enumerate(
            self.client.paginate("/portfolio/orders", params, data_key="orders"), start=1
        ):
            for order in page.items:
                if order.get("client_order_id") == client_order_id:
                    return order
            if n >= self.lookup_pages:
                break
        return None

    def find_created(self, request: dict, *, anywhere: bool = False) -> dict | None:
        """The order a create ``request`` placed, looked up by its ``client_order_id`` among the newest orders of
        its ticker (``anywhere``: then of the account, where a 409's id may be); see :meth:`same_order`."""
        coid, sub = request["client_order_id"], request.get("subaccount")
        found = self.lookup(coid, request["ticker"], sub)
        if found is None and anywhere:
            found = self.lookup(coid, None, sub)
        return self.same_order(found, request)

    @staticmethod
    def same_order(found: dict | None, request: dict) -> dict | None:
        """``found`` (an order looked up by the request's ``client_order_id``) if it is the order ``request``
        asked for; None if nothing was found; :class:`ClientOrderIdConflict` if it is another order."""
        if not found:
            return None
        diffs = order_differences(found, request)
        if not diffs:
            return found
        coid = request.get("client_order_id")
        side = _book_side(found)
        what = f"{'buy' if side == 'bid' else 'sell' if side == 'ask' else side} YES"
        raise ClientOrderIdConflict(
            f"client_order_id {coid} already names order {found.get('order_id')} ({what} "
            f"{found.get('initial_count_fp') or found.get('remaining_count_fp')} @ {found.get('yes_price_dollars')} "
            f"in {found.get('ticker')}, {found.get('status')}), which differs from this order in "
            f"{'; '.join(diffs)}: this order was not placed. Use a new client_order_id (or none to get one).",
            client_order_id=coid,
            order=found,
        )

    def get_order(self, order_id: str) -> dict:
        try:
            body = self.client.get(f"/portfolio/orders/{seg(order_id)}")
        except NotFoundError:
            raise OrderValidationError(f"no order {order_id!r} on this account. Nothing was sent.") from None
        return body.get("order", body) if isinstance(body, dict) else body

    # --- writes --------------------------------------------------------------------------------------------------
    def create(self, request: dict) -> OrderResult:
        coid, ticker = request["client_order_id"], request["ticker"]
        ev = self._event_factory("place", client_order_id=coid, ticker=ticker)
        outcome, value, attempts = self._run(
            "place",
            ev,
            lambda: self.client.post(CREATE_PATH, request),
            lambda: self.find_created(request),
            request,
            conflict_means_done=True,
            ok_status=201,
            resolve_conflict=lambda: self.find_created(request, anywhere=True),
        )
        if outcome == "accepted":
            return OrderResult.from_create(value or {}, request, attempts)
        return OrderResult.from_order(value, request, attempts)

    def create_batch(self, requests: list[dict]) -> list[OrderResult]:
        by_coid = {r["client_order_id"]: r for r in requests}
        results: dict[str, OrderResult] = {}
        pending = list(requests)
        evs = {
            c: self._event_factory("place", client_order_id=c, ticker=r["ticker"]) for c, r in by_coid.items()
        }
        self._intent([evs[r["client_order_id"]]("intent", request=r) for r in requests])
        buf: list[OrderEvent] = []
        try:
            for attempt in range(1, self.max_attempts + 1):
                body = {"orders": pending}
                buf.extend(evs[r["client_order_id"]]("sent", request=r) for r in pending)
                try:
                    resp = self.client.post(BATCH_PATH, body)
                except (KalshiApiError, TransportError) as exc:
                    if isinstance(exc, KalshiApiError) and not isinstance(exc, (ServerError, RateLimitError)):
                        buf.extend(
                            evs[r["client_order_id"]]("rejected", http_status=exc.status, error=str(exc))
                            for r in pending
                        )
                        raise
                    maybe = not (
                        isinstance(exc, RateLimitError)
                        or (isinstance(exc, TransportError) and not exc.maybe_sent)
                    )
                    still = []
                    for r in pending:
                        c = r["client_order_id"]
                        buf.append(
                            evs[c](
                                "unknown" if maybe else "rejected", http_status=_status(exc), error=str(exc)
                            )
                        )
                        found = None
                        if maybe:
                            try:
                                found = self._resolve("place", evs[c], lambda r=r: self.find_created(r), buf)
                            except ClientOrderIdConflict as conflict:  # the id names another order
                                results[c] = OrderResult.rejected(
                                    r, attempt, str(conflict), raw=conflict.order
                                )
                                continue
                        if found:
                            results[c] = OrderResult.from_order(found, r, attempt)
                        else:
                            still.append(r)
                    pending = still
                    if not pending:
                        break
                    self._backoff(attempt)
                    continue
                items = (resp or {}).get("orders") or []
                for i, item in enumerate(items):
                    c = item.get("client_order_id") or (
                        pending[i]["client_order_id"] if i < len(pending) else None
                    )
                    if c not in by_coid:
                        continue
                    r = by_coid[c]
                    if item.get("error"):
                        err = item["error"]
                        buf.append(evs[c]("rejected", response=item, error=str(err)))
                        message = err.get("message") if isinstance(err, dict) else err
                        results[c] = OrderResult.rejected(r, attempt, str(message), raw=item)
                    else:
                        buf.append(evs[c]("accepted", response=item, http_status=201))
                        results[c] = OrderResult.from_create(item, r, attempt)
                pending = [r for r in pending if r["client_order_id"] not in results]
                break
            if pending:
                raise OrderOutcomeUnknown(
                    "place_batch: outcome unknown for client_order_id(s) "
                    f"{', '.join(r['client_order_id'] for r in pending)}; nothing more was sent."
                )
        finally:
            self._flush(buf)
        return [results[r["client_order_id"]] for r in requests]

    def _post(self, path: str, body: dict, params: dict | None):
        """POST with the query ``params`` when there are any (a subaccount's order change)."""
        return self.client.post(path, body, params=params) if params else self.client.post(path, body)

    def amend(self, order_id: str, body: dict, params: dict | None = None) -> WriteResult:
        new_coid = body.get("updated_client_order_id")
        ev = self._event_factory("amend", client_order_id=new_coid, order_id=order_id, ticker=body["ticker"])

        def applied():
            o = self.get_order(order_id)
            if new_coid and o.get("client_order_id") == new_coid:
                return o
            total = (_dec(o.get("fill_count_fp")) or 0) + (_dec(o.get("remaining_count_fp")) or 0)
            if _dec(o.get("yes_price_dollars")) == Decimal(body["price"]) and total == Decimal(body["count"]):
                return o
            return None

        outcome, value, attempts = self._run(
            "amend",
            ev,
            lambda: self._post(f"{CREATE_PATH}/{seg(order_id)}/amend", body, params),
            applied,
            body,
        )
        return WriteResult("amend", (value or {}).get("order_id", order_id), outcome, attempts, value)

    def decrease(
        self, order_id: str, ticker: str, body: dict, target: Decimal, params: dict | None = None
    ) -> WriteResult:
        ev = self._event_factory("decrease", order_id=order_id, ticker=ticker)

        def applied():
            o = self.get_order(order_id)
            return o if (_dec(o.get("remaining_count_fp")) or 0) <= target else None

        outcome, value, attempts = self._run(
            "decrease",
            ev,
            lambda: self._post(f"{CREATE_PATH}/{seg(order_id)}/decrease", body, params),
            applied,
            body,
        )
        return WriteResult("decrease", order_id, outcome, attempts, value)

    def cancel(self, order_id: str, order: dict, params: dict | None = None) -> WriteResult:
        ticker = order.get("ticker")
        ev = self._event_factory(
            "cancel", client_order_id=order.get("client_order_id"), order_id=order_id, ticker=ticker
        )
        if params is None:
            params = {"market_ticker": ticker} if ticker else None

        def applied():
            o = self.get_order(order_id)
            return o if o.get("status") != "resting" else None

        outcome, value, attempts = self._run(
            "cancel",
            ev,
            lambda: self.client.delete(f"{CREATE_PATH}/{seg(order_id)}", params=params),
            applied,
            {"order_id": order_id, **(params or {})},
        )
        return WriteResult("cancel", order_id, outcome, attempts, value)

    def cancel_batch(self, order_ids: list[str], subaccount: int | None = None) -> list[WriteResult]:
        sub = {} if subaccount is None else {"subaccount": subaccount}
        body = {"orders": [{"order_id": o, **sub} for o in order_ids]}
        ev = self._event_factory("cancel")

        def applied():
            still = [o for o in order_ids if self.get_order(o).get("status") == "resting"]
            return {"orders": [{"order_id": o} for o in order_ids]} if not still else None

        outcome, value, attempts = self._run(
            "cancel", ev, lambda: self.client.delete(BATCH_PATH, json=body), applied, body
        )
        items = {i.get("order_id"): i for i in (value or {}).get("orders", [])}
        return [
            WriteResult(
                "cancel",
                o,
                "rejected" if (items.get(o) or {}).get("error") else outcome,
                attempts,
                items.get(o),
            )
            for o in order_ids
        ]

    def cancel_all(self) -> WriteResult:
        ev = self._event_factory("cancel_all")

        def applied():
            page = next(
                iter(
                    self.client.paginate(
                        "/portfolio/orders", {"status": "resting", "limit": 1}, data_key="orders"
                    )
                )
            )
            return {"resting_after": 0} if not page.items else None

        outcome, value, attempts = self._run(
            "cancel_all",
            ev,
            lambda: self.client.delete(CREATE_PATH),
            applied,
            {"method": "DELETE", "path": CREATE_PATH},
        )
        return WriteResult("cancel_all", None, outcome, attempts, value)
