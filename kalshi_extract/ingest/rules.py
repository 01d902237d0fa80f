"""The incremental rules by name: a stream's declaration names its rule; :func:`~kalshi_extract.ingest.pull.pull_stream`
runs it. What each rule promises is in :mod:`kalshi_extract.ingest.streams`; what they share is in
:mod:`kalshi_extract.ingest.rule_base`.
"""

from __future__ import annotations

from collections.abc import Callable

from kalshi_extract.ingest.state_rules import run_candles, run_snapshot, run_state
from kalshi_extract.ingest.time_rule import run_time

__all__ = ["RULES"]

RULES: dict[str, Callable] = {
    "time": run_time,
    "state": run_state,
    "snapshot": run_snapshot,
    "candles": run_candles,
}
