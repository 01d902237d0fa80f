"""A restart on the same day resumes the daily limits' counters from the lake: it cannot reset them."""

from __future__ import annotations

from decimal import Decimal

from kalshi_lake.live import RiskLimits, RunOptions
from kalshi_lake.live.limits import Exposure, Proposal
from tests.live.strategies import Greedy

LIMITS = RiskLimits(
    max_position=Decimal(4),
    max_total_position=Decimal(10),
    max_orders_per_minute=10_000,
    max_daily_notional=Decimal(40),
    max_daily_loss=Decimal(1000),
)


def test_a_restart_keeps_the_days_notional_and_start_equity(ex, make_runner):
    acct = ex.create_account(1_000_000)
    opts = RunOptions(mode="live", cancel_on_stop=False)
    first = make_runner(Greedy(), "live", account=acct, limits=LIMITS, options=opts)
    first.start()
    for _ in range(3):
        ex.advance(600)
        first.pump(0.3)
    used = first.gate.notional_today
    start_equity = first.engine.day_start_equity
    assert used > 0
    first.stream.close()  # the process dies: no stop
    first.stream = None

    # the second session's daily notional leaves room for 1 cent more: a 2-cent order must be refused
    room = LIMITS.as_dict() | {"max_daily_notional": Decimal(used).scaleb(-8) + Decimal("0.01")}
    room.pop("allowed_series")
    second = make_runner(Greedy(), "live", account=acct, limits=RiskLimits(**room), options=opts)
    assert second.run_key == first.run_key  # the limits are not part of the run key
    second.start()
    assert second.engine.day == first.engine.day
    assert second.gate.notional_today >= used  # not 0: the day's notional survived the crash
    assert second.engine.day_start_equity == start_equity  # today's P&L still counts from the day's start
    reason = second.gate.check(
        Proposal(first.engine.books[0].ticker, "KXBTC", 1, 100, 20_000, 0.0), Exposure(0, 0, 0, 0, 0)
    )
    assert reason is not None and reason.startswith("max daily notional"), reason
    second.stop()


def test_a_paper_session_does_not_resume_a_live_sessions_counters(ex, make_runner):
    acct = ex.create_account(1_000_000)
    live = make_runner(Greedy(), "live", account=acct, limits=LIMITS)
    live.start()
    ex.advance(600)
    live.pump(0.3)
    live.stop()
    assert live.gate.notional_today > 0
    paper = make_runner(Greedy(), "paper", account=acct, limits=LIMITS)
    paper.start()
    assert paper.engine.day_start_equity == paper.engine.initial_cash  # its own day, from its own cash
    assert paper.gate.notional_today < live.gate.notional_today or live.gate.notional_today == 0
    paper.stop()
