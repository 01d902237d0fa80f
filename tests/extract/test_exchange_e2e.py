"""End to end against the local exchange (kalshi_sim): its own signature check, real responses, fault injection."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_extract import KalshiClient
from kalshi_extract.api.http import RetryPolicy
from kalshi_extract.api.pacer import reset_shared_pacers
from kalshi_extract.errors import AuthenticationError, NotFoundError
from kalshi_extract.money import parse_dollars, parse_fp
from kalshi_extract.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def account_settings(exchange):
    reset_shared_pacers()
    acct = exchange.create_account(balance_cents=1_000_000)
    return acct, Settings.load(environ=dict(acct.env), config_path=None)


def test_public_and_signed_private_calls(exchange, account_settings):
    acct, settings = account_settings
    with KalshiClient(settings) as c:
        markets = list(c.get_markets(status="open"))
        assert markets and all(m["ticker"] for m in markets)
        assert c.pacer.unlimited and c.pacer.source == "account/limits"  # the exchange's default
        one = c.get_market(markets[0]["ticker"])
        assert one["ticker"] == markets[0]["ticker"]
        assert parse_dollars(one["yes_bid_dollars"]) is not None
        balance = c.get_balance()  # signed: the exchange verifies the signature with the public key
        assert balance["balance"] == 1_000_000
        assert c.get_orderbook(markets[0]["ticker"])["orderbook_fp"] is not None
        with pytest.raises(NotFoundError):
            c.get_market("NO-SUCH-TICKER")
    seen = [r for r in exchange.requests() if r["path"] == "/trade-api/v2/portfolio/balance"]
    assert seen and seen[-1]["key_id"] == acct.key_id and seen[-1]["status"] == 200


def test_trades_pagination_and_money_exact(exchange, account_settings):
    _, settings = account_settings
    with KalshiClient(settings) as c:
        ids = []
        pages = 0
        for page in c.paginate("/markets/trades", {"limit": 500}, data_key="trades"):
            pages += 1
            for t in page.items:
                ids.append(t["trade_id"])
                assert str(parse_dollars(t["yes_price_dollars"])) == t["yes_price_dollars"]
                assert parse_fp(t["count_fp"]) > Decimal(0)
        assert pages > 1 and len(ids) == len(set(ids))


def test_wrong_key_is_authentication_error(exchange, account_settings, ed25519_key_pem):
    acct, _ = account_settings
    env = dict(acct.env, KALSHI_PRIVATE_KEY=ed25519_key_pem[0])  # right key id, wrong key
    with KalshiClient(Settings.load(environ=env, config_path=None)) as c:
        with pytest.raises(AuthenticationError) as exc:
            c.get_balance()
    assert exc.value.status == 401


def test_faults_are_retried(fresh_exchange):
    reset_shared_pacers()
    acct = fresh_exchange.create_account(balance_cents=100_000)
    fresh_exchange.set_faults(error_rate=0.2, truncate_rate=0.2, reset_rate=0.1)
    fast = RetryPolicy(max_retries=10, backoff_base=0.001, backoff_cap=0.01)
    with KalshiClient(Settings.load(environ=dict(acct.env), config_path=None), retry=fast) as c:
        for _ in range(20):
            assert c.get_exchange_status()["exchange_active"] is True
            assert c.get_balance()["balance"] == 100_000
        assert c.stats.retries > 0
    fresh_exchange.set_faults(error_rate=0.0, truncate_rate=0.0, reset_rate=0.0)


def test_follows_the_exchange_rate_limit(fresh_exchange):
    import threading

    reset_shared_pacers()
    acct = fresh_exchange.create_account(balance_cents=100_000)
    fresh_exchange.set_faults(rate_limit_tier="basic")  # 200 read tokens/s, 10 per request
    settings = Settings.load(environ=dict(acct.env), config_path=None)
    clients = [KalshiClient(settings) for _ in range(4)]

    def work(c):
        for _ in range(15):
            c.get_exchange_status()

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clients[0].pacer.tier == "basic" and clients[0].pacer.read.rate == 200
    throttled = sum(c.stats.throttled_429 for c in clients)
    # paced at the limit: the exchange never has to say 429 (its bucket started full no later than ours and every
    # request arrives after our bucket granted it; the discovery request is charged too)
    assert throttled == 0, throttled
    for c in clients:
        c.close()
