"""The order journal: every order request and its outcome, as rows of the lake's ``order_events`` stream.

Columns (docs/CONTRACTS.md): ``event_id``, ``ts``, ``client_order_id``, ``order_id``, ``action``
(``place|amend|decrease|cancel|cancel_all|lookup``), ``phase`` (``intent|sent|accepted|rejected|unknown|resolved``),
``ticker``, ``request_json``, ``response_json``, ``http_status``, ``error``; plus ``_account`` (a private stream).
The lake writer adds ``_loaded_at`` / ``_run_id`` / ``_extra``.

Write discipline (the exactly-once protocol depends on it): the ``intent`` rows are written — durably, in their
own ``append`` — *before* the request is sent; if that write fails nothing is sent. The later phases of one
operation are buffered and written in one ``append`` when the operation ends (success or failure), so one order
costs two small Parquet files, not one per phase.

Clocks: ``ts`` is this machine's clock, the order of the phases (also across processes on one machine); the
partition day is the exchange's (its clock estimated from its ``Date`` headers, see ``KalshiClient.exchange_now``),
so the journal's days line up with the orders, fills and trades the exchange reports even when its clock is not
this machine's (the local exchange's simulated clock may be days or years away, and stands still between
advances: stamping ``ts`` with it would misorder the phases of orders sent from several processes). Without a
``clock``, or when the exchange has not answered, the day is ``ts``'s.

The journal never holds secrets: request bodies carry no key material (auth lives in headers, never journaled).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from kalshi_extract.lake.schemas import ORDER_EVENTS_STREAM

__all__ = [
    "ORDER_EVENTS_STREAM",
    "ORDER_EVENTS_SCHEMA",
    "OrderEvent",
    "Journal",
    "LakeJournal",
    "MemoryJournal",
    "events_to_table",
    "pending_intents",
]

JOURNAL_ACTIONS = ("place", "amend", "decrease", "cancel", "cancel_all", "lookup")
JOURNAL_PHASES = ("intent", "sent", "accepted", "rejected", "unknown", "resolved")

ORDER_EVENTS_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("client_order_id", pa.string()),
        ("order_id", pa.string()),
        ("action", pa.string()),
        ("phase", pa.string()),
        ("ticker", pa.string()),
        ("request_json", pa.string()),
        ("response_json", pa.string()),
        ("http_status", pa.int32()),
        ("error", pa.string()),
        ("_account", pa.string()),
    ]
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _dumps(obj: Any) -> str | None:
    if obj is None:
        return None
    return json.dumps(obj, sort_keys=True, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class OrderEvent:
    """One journal row."""

    action: str
    phase: str
    client_order_id: str | None = None
    order_id: str | None = None
    ticker: str | None = None
    request: Any = None
    response: Any = None
    http_status: int | None = None
    error: str | None = None
    ts: dt.datetime = field(default_factory=_now)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        if self.action not in JOURNAL_ACTIONS:
            raise ValueError(f"unknown journal action {self.action!r}")
        if self.phase not in JOURNAL_PHASES:
            raise ValueError(f"unknown journal phase {self.phase!r}")

    def row(self, account: str) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "ts": self.ts,
            "client_order_id": self.client_order_id,
            "order_id": self.order_id,
            "action": self.action,
            "phase": self.phase,
            "ticker": self.ticker,
            "request_json": _dumps(self.request),
            "response_json": _dumps(self.response),
            "http_status": self.http_status,
            "error": self.error,
            "_account": account,
        }


def events_to_table(events: list[OrderEvent], account: str = "default") -> pa.Table:
    """Journal rows as an Arrow table with :data:`ORDER_EVENTS_SCHEMA`."""
    return pa.Table.from_pylist([e.row(account) for e in events], schema=ORDER_EVENTS_SCHEMA)


class Journal(Protocol):
    """Where order events go. ``write`` must be durable when it returns (or raise)."""

    def write(self, events: list[OrderEvent]) -> None: ...


class LakeJournal:
    """Journal into the lake's ``order_events`` stream via ``Lake.append`` (atomic Parquet part per call)."""

    def __init__(
        self,
        lake: Any,
        *,
        account: str = "default",
        run_id: str | None = None,
        clock: Callable[[], dt.datetime | None] | None = None,
    ) -> None:
        self.lake = lake
        self.account = account
        self.run_id = run_id or f"orders-{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        self.clock = clock  # the exchange's time now, or None when unknown

    def write(self, events: list[OrderEvent]) -> None:
        if not events:
            return
        exchange_now = self.clock() if self.clock is not None else None
        table = events_to_table(events, self.account)
        if exchange_now is None:
            self.lake.append(ORDER_EVENTS_STREAM, table, self.run_id)
        else:  # the exchange's day (see the module docstring)
            self.lake.append(ORDER_EVENTS_STREAM, table, self.run_id, day=exchange_now)

    def rows(self) -> list[dict[str, Any]]:
        """This account's journal rows (empty when nothing was journaled yet)."""
        if not self.lake.files(ORDER_EVENTS_STREAM):
            return []
        return [
            r for r in self.lake.read(ORDER_EVENTS_STREAM).to_pylist() if r.get("_account") == self.account
        ]


def pending_intents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order intents whose outcome the journal never recorded (e.g. the process died after sending).

    ``rows`` are journal rows (dicts with the column names). A ``place`` intent is settled when its
    ``client_order_id`` has a ``place`` row with phase ``accepted`` or ``resolved``, a ``lookup`` row that found
    the order, or ends in ``rejected``. Returns the intent rows still open, oldest first.
    """
    by_coid: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r.get("client_order_id") and r.get("action") in ("place", "lookup"):
            by_coid.setdefault(r["client_order_id"], []).append(r)
    out = []
    for evs in by_coid.values():
        evs.sort(key=lambda r: r["ts"])
        intent = next((r for r in evs if r["action"] == "place" and r["phase"] == "intent"), None)
        if intent is None:
            continue
        done = any(
            (r["action"] == "place" and r["phase"] in ("accepted", "resolved"))
            or (r["action"] == "lookup" and r["phase"] == "resolved" and r.get("order_id"))
            for r in evs
        )
        place_phases = [r["phase"] for r in evs if r["action"] == "place"]
        if not done and place_phases[-1] != "rejected":
            out.append(intent)
    return sorted(out, key=lambda r: r["ts"])


class MemoryJournal:
    """Keeps events in a list (tests, dry runs). Not durable: never the default for real orders."""

    def __init__(self) -> None:
        self.events: list[OrderEvent] = []

    def write(self, events: list[OrderEvent]) -> None:
        self.events.extend(events)

    def rows(self) -> list[dict[str, Any]]:
        return [e.row("memory") for e in self.events]

    def phases(self, client_order_id: str | None = None) -> list[str]:
        return [
            e.phase for e in self.events if client_order_id is None or e.client_order_id == client_order_id
        ]
