"""The stream's pure state: the per-sid sequence verdicts and the reconnect backoff."""

from __future__ import annotations

from kalshi_extract.ws import StreamOptions
from kalshi_extract.ws.state import Sequencer


def test_sequence_verdicts_per_sid():
    seq = Sequencer()
    assert seq.check(1, 1, snapshot=True) == ("ok", None)
    assert seq.check(2, 7, snapshot=False) == ("ok", None)  # the first of a sid is the baseline
    assert seq.check(1, 2, snapshot=False) == ("ok", None)
    assert seq.check(1, 4, snapshot=False) == ("gap", 3)
    assert seq.check(1, 5, snapshot=False) == ("ok", None)  # counting resumes after the gap
    assert seq.check(1, 5, snapshot=False) == ("duplicate", 6)
    assert seq.check(1, 3, snapshot=False) == ("duplicate", 6)
    assert seq.expected(1) == 6 and seq.expected(2) == 8 and seq.expected(None) is None
    assert seq.check(1, 1, snapshot=True) == ("ok", None)  # a snapshot may restart the count
    assert seq.check(1, 2, snapshot=False) == ("ok", None)
    seq.reply(1, 3)  # an "ok" carrying the next seq counts
    seq.reply(1, 9)  # one that is not the next is ignored
    assert seq.expected(1) == 4
    seq.forget(1)
    assert seq.expected(1) is None


def test_backoff_is_capped_exponential_with_jitter():
    opts = StreamOptions(backoff_initial=0.5, backoff_max=4.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [opts.backoff(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 100  # jittered, so clients do not reconnect in lockstep
