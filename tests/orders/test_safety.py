"""Bad input never reaches the exchange; prod needs confirmation; a lost response never doubles an order."""

from __future__ import annotations

import json
from decimal import Decimal

import pyarrow.dataset as ds
import pytest

from kalshi_extract.api.client import KalshiClient
from kalshi_extract.settings import Settings
from tests.orders.helpers import open_markets, order_posts, resting_price

pytestmark = pytest.mark.slow


def _client(acct) -> KalshiClient:
    return KalshiClient(Settings.load(environ=acct.env))


@pytest.fixture
def account(exchange):
    return exchange.create_account(balance_cents=1_000_00)


@pytest.fixture
def cent_market(exchange, account):
    with _client(account) as c:
        for m in open_markets(c):
            ranges = m.get("price_ranges") or []
            if m.get("price_level_structure") == "linear_cent" or all(r["step"] == "0.0100" for r in ranges):
                return m
    pytest.fail("no open linear_cent market on the local exchange")


@pytest.fixture
def closed_market(exchange, account):
    with _client(account) as c:
        for status in ("closed", "settled"):
            for m in c.get_markets(status=status):
                return m
    pytest.fail("no closed or settled market on the local exchange")


def _refused(exchange, cli, args, fragment, *, no_requests_at_all):
    exchange.clear_requests()
    res = cli(*args)
    assert res.exit_code != 0, res.output
    err = " ".join(res.stderr.split())
    assert err.startswith("error:") and fragment.lower() in err.lower(), err
    assert "Traceback" not in res.output
    assert order_posts(exchange) == [], "an order request reached the exchange"
    if no_requests_at_all:
        assert exchange.requests() == [], f"requests were sent: {exchange.requests()}"
    return err


@pytest.mark.parametrize(
    "count,price,fragment",
    [
        ("2", "0", "strictly between"),
        ("2", "1.00", "strictly between"),
        ("2", "100", "strictly between"),
        ("0", "45", "greater than 0"),
        ("-3", "45", "greater than 0"),
        ("1.005", "45", "2 decimals"),
        ("2", "45.5", "c suffix"),
    ],
)
def test_bad_price_or_count_sends_nothing_at_all(
    exchange, account, make_cli, cent_market, count, price, fragment
):
    cli = make_cli(account)
    _refused(
        exchange, cli, ["buy", cent_market["ticker"], "yes", count, price], fragment, no_requests_at_all=True
    )


def test_subcent_price_on_cent_grid_is_refused(exchange, account, make_cli, cent_market):
    cli = make_cli(account)
    err = _refused(
        exchange,
        cli,
        ["buy", cent_market["ticker"], "yes", "2", "0.455"],
        "tick grid",
        no_requests_at_all=False,
    )
    assert "0.45 and 0.46" in err
    _refused(
        exchange,
        cli,
        ["sell", cent_market["ticker"], "no", "2", "45.5c"],
        "tick grid",
        no_requests_at_all=False,
    )


def test_unknown_ticker(exchange, account, make_cli):
    cli = make_cli(account)
    _refused(
        exchange,
        cli,
        ["buy", "KXNOPE-99JAN01-X", "yes", "2", "45"],
        "unknown ticker",
        no_requests_at_all=False,
    )


def test_closed_market(exchange, account, make_cli, closed_market):
    cli = make_cli(account)
    _refused(
        exchange,
        cli,
        ["buy", closed_market["ticker"], "yes", "2", "45"],
        "not open",
        no_requests_at_all=False,
    )


def test_bad_outcome_and_tif(exchange, account, make_cli, cent_market):
    cli = make_cli(account)
    _refused(
        exchange, cli, ["buy", cent_market["ticker"], "maybe", "2", "45"], "yes, no", no_requests_at_all=True
    )
    _refused(
        exchange,
        cli,
        ["buy", cent_market["ticker"], "yes", "2", "45", "--tif", "day"],
        "gtc, ioc or fok",
        no_requests_at_all=True,
    )


def test_missing_key_sends_nothing(exchange, account, make_cli, cent_market):
    env = {k: v for k, v in account.env.items() if k not in ("KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY")}

    class NoKey:
        pass

    nokey = NoKey()
    nokey.env = env
    cli = make_cli(nokey)
    for args in (
        ["buy", cent_market["ticker"], "yes", "2", "45"],
        ["cancel", "--all"],
        ["positions"],
        ["balance"],
    ):
        _refused(exchange, cli, args, "KALSHI_API_KEY_ID", no_requests_at_all=True)


def test_insufficient_balance(exchange, make_cli, cent_market):
    poor = exchange.create_account(balance_cents=100)  # $1.00
    cli = make_cli(poor)
    err = _refused(
        exchange,
        cli,
        ["buy", cent_market["ticker"], "yes", "10", "50"],
        "insufficient balance",
        no_requests_at_all=False,
    )
    assert "$1" in err


def test_order_limits(exchange, account, make_cli, cent_market):
    cli = make_cli(account, KALSHI_MAX_ORDER_COUNT="5")
    _refused(
        exchange,
        cli,
        ["buy", cent_market["ticker"], "yes", "6", "2"],
        "KALSHI_MAX_ORDER_COUNT",
        no_requests_at_all=True,
    )
    cli = make_cli(account, KALSHI_MAX_POSITION="3")
    _refused(
        exchange,
        cli,
        ["buy", cent_market["ticker"], "yes", "4", "2"],
        "KALSHI_MAX_POSITION",
        no_requests_at_all=False,
    )


def test_dry_run_prints_the_exact_request_and_sends_nothing(exchange, account, make_cli, cent_market):
    cli = make_cli(account)
    exchange.clear_requests()
    res = cli("buy", cent_market["ticker"], "no", "3", "40", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "POST " + exchange.base_url + "/portfolio/events/orders" in res.output
    assert (
        '"side": "ask"' in res.output
        and '"price": "0.6000"' in res.output
        and '"count": "3.00"' in res.output
    )
    assert order_posts(exchange) == []
    js = cli.json("buy", cent_market["ticker"], "no", "3", "40", "--dry-run")
    assert js["dry_run"] is True and js["request"]["side"] == "ask" and js["fee_estimate"]
    assert order_posts(exchange) == []


def test_prod_without_yes_and_without_a_terminal_sends_nothing(exchange, account, make_cli, cent_market):
    # KALSHI_ENV=prod pointed at the local exchange through KALSHI_API_URL: the gate is the real one.
    cli = make_cli(account, KALSHI_ENV="prod")
    low = "1"
    exchange.clear_requests()
    res = cli("buy", cent_market["ticker"], "yes", "1", low)
    assert res.exit_code == 4, res.output
    assert "not confirmed" in res.stderr and "KALSHI_ENV=prod" in res.stderr
    assert "fee up to" in res.stderr  # cost and fee estimate were shown first
    assert order_posts(exchange) == []
    res = cli("cancel", "--all")
    assert res.exit_code == 4 and order_posts(exchange) == []
    res = cli("buy", cent_market["ticker"], "yes", "1", low, "--yes", "--json")
    assert res.exit_code == 0, res.output
    assert len([r for r in order_posts(exchange) if r["method"] == "POST"]) == 1
    cli("cancel", "--all", "--yes")


def test_confirm_gate_function():
    from typer import Exit

    from kalshi_lake.cli.trading_cmd import confirm_gate

    prod = Settings.load(environ={"KALSHI_ENV": "prod"})
    local = Settings.load(
        environ={"KALSHI_ENV": "local", "KALSHI_API_URL": "http://127.0.0.1:1/trade-api/v2"}
    )
    asked = []
    confirm_gate(local, ["x"], yes=False, interactive=False)  # not prod: no gate
    confirm_gate(prod, ["x"], yes=True, interactive=False)  # --yes
    confirm_gate(prod, ["x"], yes=False, interactive=True, ask=lambda q: asked.append(q) or True)
    assert asked
    with pytest.raises(Exit) as info:
        confirm_gate(prod, ["x"], yes=False, interactive=True, ask=lambda q: False)
    assert info.value.exit_code == 4
    with pytest.raises(Exit):
        confirm_gate(prod, ["x"], yes=False, interactive=False, ask=lambda q: True)


def test_confirm_gate_indents_every_line_of_the_request(capsys):
    from typer import Exit

    from kalshi_lake.cli.trading_cmd import confirm_gate

    prod = Settings.load(environ={"KALSHI_ENV": "prod"})
    with pytest.raises(Exit):
        confirm_gate(
            prod,
            ["BUY 1 YES X", 'POST https://x/orders\n{\n  "count": "1.00"\n}'],
            yes=False,
            interactive=False,
        )
    shown = [
        line for line in capsys.readouterr().err.splitlines() if not line.startswith(("KALSHI_ENV", "error"))
    ]
    assert shown and all(line.startswith("  ") for line in shown if line.strip()), shown
    assert '    "count": "1.00"' in shown


def test_dropped_order_response_leaves_exactly_one_order(fresh_exchange, make_cli, tmp_path):
    ex = fresh_exchange
    acct = ex.create_account(balance_cents=1_000_00)
    with _client(acct) as c:
        m = open_markets(c)[0]
    cli = make_cli(acct)
    low = resting_price(m)
    ex.set_faults(drop_order_response=1)
    ex.clear_requests()
    res = cli("buy", m["ticker"], "yes", "2", f"{low}", "--json")
    assert res.exit_code == 0, res.output
    mine = ex.orders(acct.key_id)
    assert len(mine) == 1
    out = json.loads(res.stdout)["result"]
    assert out["outcome"] == "resolved" and out["order_id"] == mine[0]["order_id"]
    assert len([r for r in order_posts(ex) if r["method"] == "POST"]) == 1  # looked up, not re-sent
    journal = ds.dataset(str(tmp_path / "data" / "lake" / "order_events"), partitioning="hive").to_table()
    rows = sorted(
        (r for r in journal.to_pylist() if r["client_order_id"] == out["client_order_id"]),
        key=lambda r: r["ts"],
    )
    assert [(r["action"], r["phase"]) for r in rows] == [
        ("place", "intent"),
        ("place", "sent"),
        ("place", "unknown"),
        ("place", "resolved"),
    ]
    assert rows[-1]["order_id"] == out["order_id"]
    # a crossing buy with the fault on: filled once, position = count
    ask = Decimal(m["yes_ask_dollars"])
    ex.set_faults(drop_order_response=1)
    res = cli("buy", m["ticker"], "yes", "1", f"{ask}", "--json", "--tif", "ioc")
    assert res.exit_code == 0, res.output
    assert len(ex.orders(acct.key_id)) == 2


def test_same_client_order_id_twice_is_one_order(exchange, make_cli):
    acct = exchange.create_account(balance_cents=1_000_00)
    with _client(acct) as c:
        m = open_markets(c)[0]
    cli = make_cli(acct)
    coid = "5d0f5a3e-8f5e-4d55-9d2a-0e7f8f6c1a11"
    first = cli.json("buy", m["ticker"], "yes", "1", f"{resting_price(m)}", "--client-order-id", coid)[
        "result"
    ]
    again = cli.json("buy", m["ticker"], "yes", "1", f"{resting_price(m)}", "--client-order-id", coid)[
        "result"
    ]
    assert first["outcome"] == "accepted" and again["outcome"] == "resolved"  # 409 duplicate → looked up
    assert again["order_id"] == first["order_id"]
    assert [o["order_id"] for o in exchange.orders(acct.key_id)] == [first["order_id"]]
    cli.ok("cancel", first["order_id"])


def test_reused_client_order_id_with_other_terms_is_an_error_not_placed(exchange, make_cli, tmp_path):
    # issue #17 item 3: the 409 of a reused id used to be "resolved" to the first order and shown as placed.
    acct = exchange.create_account(balance_cents=1_000_00)
    with _client(acct) as c:
        m, other = open_markets(c)[:2]
    cli = make_cli(acct)
    coid = "0b7e3c52-1f0a-4c1e-9d7e-6a1b2c3d4e5f"
    low = resting_price(m)
    first = cli.json("buy", m["ticker"], "yes", "1", f"{low}", "--client-order-id", coid)["result"]
    lower = max(Decimal("0.01"), low - Decimal("0.01"))
    for args in (
        [m["ticker"], "yes", "9", f"{low}"],  # another count
        [m["ticker"], "yes", "1", f"{lower}"],  # another price (when low is above 0.01)
        [m["ticker"], "no", "1", f"{1 - low}"],  # sell YES @ low: same V2 price, other side
        [other["ticker"], "yes", "1", f"{resting_price(other)}"],  # another market
    ):
        if args[3] == f"{low}" and args[2] == "1" and args[1] == "yes" and args[0] == m["ticker"]:
            continue  # identical terms (the price step could not move): nothing to test
        exchange.clear_requests()
        res = cli("buy", *args, "--client-order-id", coid, "--json")
        assert res.exit_code == 1, (args, res.output)
        err = " ".join(res.stderr.split())
        assert err.startswith("error:") and len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert coid in err and first["order_id"] in err and "not placed" in err, err
        assert res.stdout == "", "nothing may be shown as placed"
        assert len(order_posts(exchange)) == 1, "the 409 is looked up, never re-sent"
    assert [o["order_id"] for o in exchange.orders(acct.key_id)] == [first["order_id"]]
    journal = ds.dataset(str(tmp_path / "data" / "lake" / "order_events"), partitioning="hive").to_table()
    rows = sorted(
        (r for r in journal.to_pylist() if r["client_order_id"] == coid and r["action"] == "place"),
        key=lambda r: r["ts"],
    )
    assert rows[-1]["phase"] == "rejected" and "not placed" in rows[-1]["error"]
    assert rows[-1]["order_id"] is None  # the other order's id is not pinned on this refused intent
    cli.ok("cancel", first["order_id"])


def test_archived_market_is_reported_as_settled(exchange, account, make_cli):
    with _client(account) as c:
        archived = next(iter(c.get_historical_markets()), None)
    if archived is None:
        pytest.skip("the local exchange has no market behind the historical cutoff yet")
    cli = make_cli(account)
    _refused(
        exchange,
        cli,
        ["buy", archived["ticker"], "yes", "1", "45"],
        "only active markets",
        no_requests_at_all=False,
    )


def test_unwritable_journal_means_no_order(exchange, account, cent_market, tmp_path):
    from tests.orders.helpers import Cli, cli_env

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the lake directory should be")
    cli = Cli(cli_env(account.env, blocker))
    exchange.clear_requests()
    res = cli("buy", cent_market["ticker"], "yes", "1", "1")
    assert res.exit_code == 1, res.output
    assert "could not journal the order intent" in res.stderr and "nothing was sent" in res.stderr
    assert order_posts(exchange) == []


def test_tickers_are_trimmed_and_upper_cased_and_an_empty_one_is_one_line(
    exchange, account, make_cli, cent_market
):
    cli = make_cli(account)
    for args in (
        ["market", ""],
        ["orderbook", "  "],
        ["buy", " ", "yes", "1", "5"],
        ["fills", "--ticker", ""],
        ["positions", "--ticker", ""],
        ["orders", "--ticker", ""],
    ):
        _refused(exchange, cli, args, "ticker is empty", no_requests_at_all=True)
    t = cent_market["ticker"]
    assert cli.json("market", f" {t.lower()} ")["ticker"] == t
    assert cli.json("orderbook", t.lower())["ticker"] == t
    exchange.clear_requests()
    dry = cli.json("buy", t.lower(), "yes", "1", "1", "--dry-run")
    assert dry["request"]["ticker"] == t and order_posts(exchange) == []


def test_search_with_an_unknown_status_sends_nothing(exchange, account, make_cli):
    cli = make_cli(account)
    _refused(
        exchange,
        cli,
        ["search", "KX", "--status", "bogus"],
        "--status must be one of",
        no_requests_at_all=True,
    )
    assert cli.json("search", "KX", "--status", "Settled", "--limit", "1")[0]["status"] in (
        "finalized",
        "settled",
        "determined",
    )


def test_a_key_file_readable_by_others_is_a_one_line_warning_and_a_missing_one_a_one_line_error(
    exchange, account, make_cli, tmp_path, cent_market
):
    pem = tmp_path / "key.pem"
    pem.write_text(account.private_key_pem)
    pem.chmod(0o644)
    cli = make_cli(account, KALSHI_PRIVATE_KEY=None, KALSHI_PRIVATE_KEY_PATH=str(pem))
    res = cli("balance", "--json")
    assert res.exit_code == 0, res.output
    warning = [line for line in res.stderr.splitlines() if line.strip()]
    assert (
        len(warning) == 1 and warning[0].startswith("warning: private key file") and "chmod 600" in warning[0]
    )
    missing = make_cli(
        account, KALSHI_PRIVATE_KEY=None, KALSHI_PRIVATE_KEY_PATH=str(tmp_path / "nowhere.pem")
    )
    for args in (["balance"], ["buy", cent_market["ticker"], "yes", "1", "5"], ["cancel", "--all"]):
        exchange.clear_requests()
        res = missing(*args)
        assert res.exit_code == 1 and res.stderr.startswith("error: cannot read KALSHI_PRIVATE_KEY_PATH"), (
            res.output
        )
        assert len(res.stderr.strip().splitlines()) == 1 and order_posts(exchange) == []
    for out in (res.output, cli("balance").output):
        assert "PRIVATE KEY" not in out and account.private_key_pem.splitlines()[1] not in out


def test_handle_errors_turns_library_and_os_errors_into_one_line(capsys):
    from typer import Exit

    from kalshi_extract.errors import ConfigError, OrderOutcomeUnknown
    from kalshi_lake.cli.common import handle_errors

    @handle_errors
    def boom(exc):
        raise exc

    for exc, code in (
        (OSError(28, "No space left on device"), 1),
        (OrderOutcomeUnknown("lost"), 3),
        (ConfigError("bad\n  setting"), 1),
        (KeyboardInterrupt(), 130),
    ):
        with pytest.raises(Exit) as info:
            boom(exc)
        assert info.value.exit_code == code
    assert capsys.readouterr().err.splitlines() == [
        "error: [Errno 28] No space left on device",
        "error: lost",
        "error: bad setting",
        "error: interrupted",
    ]
    with pytest.raises(ValueError):  # programming errors are not hidden
        boom(ValueError("bug"))
