"""Which column dates each recorder stream's rows (its partition date), and on whose clock. No imports: ``status``
reads it without loading the WebSocket stack."""

from __future__ import annotations

__all__ = ["DATE_COLUMNS", "LOCAL_CLOCK_STREAMS"]

# The partition date: the exchange's time the message states (the local exchange's clock may be days or years
# from this machine's), so a day of the recording sits beside the REST streams' same day. A row whose message
# states no time (a book snapshot) is dated by the exchange's time at the flush, estimated from the latest message
# that stated one (or the REST answers' ``Date`` when none has yet); only when nothing told the exchange's time is
# it the flush instant on this machine's clock (``_loaded_at``). Every row's arrival time is kept as
# ``received_at`` (this machine's clock); the rows' ``ts`` is never filled in by the estimate. ws_coverage is the recorder's own
# log, on this machine's clock (``at``).
DATE_COLUMNS = {
    "ws_book": "ts",
    "ws_trades": "created_time",
    "ws_ticker": "ts",
    "ws_lifecycle": "ts",
    "ws_fills": "ts",
    "ws_user_orders": "last_update_time",
    "ws_positions": "ts",
    "ws_order_groups": "ts",
    "ws_coverage": "at",
}
LOCAL_CLOCK_STREAMS = frozenset({"ws_coverage"})
