"""Settings: keys, TOML, precedence, unknown-key errors with suggestions, secrets hidden."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kalshi_extract.errors import ConfigError
from kalshi_extract.settings import HOSTS, Settings

PEM = "-----BEGIN PRIVATE KEY-----\nSECRETMATERIALxyz\n-----END PRIVATE KEY-----\n"


@pytest.fixture(autouse=True)
def _no_cwd_toml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # never pick up a stray ./kalshi-lake.toml


def test_defaults():
    s = Settings.load(environ={})
    assert s.env == "prod" and s.base_url == HOSTS["prod"] == "https://external-api.kalshi.com/trade-api/v2"
    assert s.tier == "basic" and not s.tier_explicit
    assert s.lake_dir == "./data" and s.account == "default"
    assert s.schedule_market_data == "*/15 * * * *" and s.schedule_portfolio == "0 * * * *"
    assert s.task_runner == "threads" and s.concurrency == 8
    assert s.max_order_count is None and not s.has_key
    assert s.warehouse_path.endswith("kalshi.duckdb") and s.lake_root.endswith("lake")


def test_demo_and_local_hosts():
    assert (
        Settings.load(environ={"KALSHI_ENV": "demo"}).base_url
        == "https://external-api.demo.kalshi.co/trade-api/v2"
    )
    with pytest.raises(ConfigError, match="KALSHI_API_URL"):
        Settings.load(environ={"KALSHI_ENV": "local"})
    s = Settings.load(environ={"KALSHI_ENV": "local", "KALSHI_API_URL": "http://127.0.0.1:9/trade-api/v2/"})
    assert s.base_url == "http://127.0.0.1:9/trade-api/v2"


def test_lake_paths_for_uri():
    s = Settings.load(environ={"KALSHI_LAKE_DIR": "s3://bucket/k"})
    # the DuckDB file cannot live on S3: a remote lake's warehouse is local unless KALSHI_WAREHOUSE says where
    assert s.lake_root == "s3://bucket/k/lake" and s.warehouse_path == "data/kalshi.duckdb"
    s = Settings.load(
        environ={"KALSHI_LAKE_DIR": "s3://bucket/k", "KALSHI_WAREHOUSE": "file:///tmp/w.duckdb"}
    )
    assert s.warehouse_path == "/tmp/w.duckdb"


def test_warehouse_on_an_object_store_is_a_config_error():
    with pytest.raises(ConfigError, match="KALSHI_WAREHOUSE must be a local file path"):
        Settings.load(environ={"KALSHI_WAREHOUSE": "s3://bucket/kalshi.duckdb"})


def test_unknown_env_var_suggests_closest():
    with pytest.raises(ConfigError, match="KALSHI_API_KEY_ID") as exc:
        Settings.load(environ={"KALSHI_API_KEYID": "x"})
    assert "KALSHI_API_KEYID" in str(exc.value)
    with pytest.raises(ConfigError, match="KALSHI_TIER"):
        Settings.load(environ={"KALSHI_TEIR": "basic"})


def test_unrelated_env_vars_ignored():
    s = Settings.load(
        environ={"KALSHIFOO": "1", "MY_KALSHI_THING": "2", "PATH": "/bin", "KALSHI_SIM_SEED": "7"}
    )
    assert s.env == "prod"


def test_toml_keys_and_env_precedence(tmp_path):
    cfg = tmp_path / "kl.toml"
    cfg.write_text(
        'env = "demo"\ntier = "advanced"\nconcurrency = 3\nmax_position = 250.5\naccount = "fund"\n'
    )
    s = Settings.load(environ={"KALSHI_CONFIG": str(cfg), "KALSHI_TIER": "premier"})
    assert s.env == "demo" and s.concurrency == 3 and s.account == "fund"
    assert s.tier == "premier" and s.tier_explicit  # environment wins
    assert s.max_position == Decimal("250.5")
    assert Settings.load(environ={}, config_path=cfg).tier == "advanced"


def test_default_toml_in_cwd(tmp_path):
    (tmp_path / "kalshi-lake.toml").write_text('lake_dir = "/tmp/x"\n')
    assert Settings.load(environ={}).lake_dir == "/tmp/x"


def test_unknown_toml_key_suggests_closest(tmp_path):
    cfg = tmp_path / "kl.toml"
    cfg.write_text('privat_key_path = "/k.pem"\n')
    with pytest.raises(ConfigError, match="private_key_path"):
        Settings.load(environ={}, config_path=cfg)


def test_missing_config_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(environ={"KALSHI_CONFIG": str(tmp_path / "nope.toml")})
    bad = tmp_path / "bad.toml"
    bad.write_text("env = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        Settings.load(environ={}, config_path=bad)


@pytest.mark.parametrize(
    "env",
    [
        {"KALSHI_ENV": "staging"},
        {"KALSHI_TIER": "platinum"},
        {"KALSHI_CONCURRENCY": "many"},
        {"KALSHI_CONCURRENCY": "0"},
        {"KALSHI_TASK_RUNNER": "ray"},
        {"KALSHI_MAX_POSITION": "-1"},
        {"KALSHI_MAX_ORDER_COUNT": "lots"},
        {"KALSHI_API_URL": "ftp://x"},
        {"KALSHI_PRIVATE_KEY": "not a pem"},
    ],
)
def test_bad_values_are_config_errors(env):
    with pytest.raises(ConfigError):
        Settings.load(environ=env)


def test_repr_hides_private_key(tmp_path):
    s = Settings.load(environ={"KALSHI_API_KEY_ID": "kid", "KALSHI_PRIVATE_KEY": PEM})
    assert s.has_key
    for text in (repr(s), str(s), f"{s}"):
        assert "SECRETMATERIAL" not in text and "BEGIN" not in text
        assert "private_key=<set>" in text and "kid" in text


def test_settings_are_frozen():
    s = Settings.load(environ={})
    with pytest.raises(AttributeError):
        s.env = "demo"


def test_websocket_url_per_env():
    assert Settings.load(environ={}).websocket_url == "wss://external-api-ws.kalshi.com/trade-api/ws/v2"
    demo = Settings.load(environ={"KALSHI_ENV": "demo"})
    assert demo.websocket_url == "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2"
    assert demo.ws_url is None


def test_websocket_url_local_is_derived_from_the_api_url():
    local = Settings.load(
        environ={"KALSHI_ENV": "local", "KALSHI_API_URL": "http://127.0.0.1:9/trade-api/v2/"}
    )
    assert local.websocket_url == "ws://127.0.0.1:9/trade-api/ws/v2"
    tls = Settings.load(environ={"KALSHI_ENV": "local", "KALSHI_API_URL": "https://h.example/k/trade-api/v2"})
    assert tls.websocket_url == "wss://h.example/k/trade-api/ws/v2"
    odd = Settings.load(environ={"KALSHI_ENV": "local", "KALSHI_API_URL": "http://127.0.0.1:9/api"})
    with pytest.raises(ConfigError, match="KALSHI_WS_URL"):
        odd.websocket_url  # noqa: B018


def test_websocket_url_explicit_wins_from_env_and_toml(tmp_path):
    env = {"KALSHI_ENV": "local", "KALSHI_API_URL": "http://127.0.0.1:9/trade-api/v2"}
    s = Settings.load(environ={**env, "KALSHI_WS_URL": "ws://10.0.0.1:7/trade-api/ws/v2/"})
    assert s.websocket_url == "ws://10.0.0.1:7/trade-api/ws/v2"
    cfg = tmp_path / "kl.toml"
    cfg.write_text('env = "demo"\nws_url = "wss://proxy.example/trade-api/ws/v2"\n')
    assert Settings.load(environ={}, config_path=cfg).websocket_url == "wss://proxy.example/trade-api/ws/v2"


def test_websocket_url_must_be_ws():
    with pytest.raises(ConfigError, match="KALSHI_WS_URL"):
        Settings.load(environ={"KALSHI_WS_URL": "https://external-api.kalshi.com/trade-api/ws/v2"})
    with pytest.raises(ConfigError, match="KALSHI_WS_URL"):
        Settings.load(environ={"KALSHI_WS_URI": "wss://x/trade-api/ws/v2"})  # misspelled: suggests the key
