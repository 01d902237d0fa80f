"""`kalshi-lake build --max-mid-age SECONDS` and `KALSHI_MAX_MID_AGE_SECONDS` set the models' mid-age limit.

On the lake of test_pnl_attribution, fill a3 meets a quote 1200 s old: stale at the default 60 s, matched at 1200 s.
A build with another limit is another build (the fingerprint includes it), not skipped as unchanged.
"""

from __future__ import annotations

import os

import duckdb
import pytest
from typer.testing import CliRunner

from kalshi_lake.cli import app

from .test_pnl_attribution import write_lake


@pytest.fixture
def lake_dir(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    write_lake(tmp_path / "data" / "lake")
    return tmp_path / "data"


def a3(lake_dir):
    con = duckdb.connect(str(lake_dir / "kalshi.duckdb"), read_only=True)
    try:
        return con.execute(
            "select mid_status, max_mid_age_seconds from fct_fill_edges where fill_id = 'a3'"
        ).fetchone()
    finally:
        con.close()


def build(*args):
    result = CliRunner().invoke(app, ["build", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_the_option_changes_matching_and_forces_a_new_build(lake_dir):
    build()
    assert a3(lake_dir) == ("stale", 60)
    assert "up to date" not in build("--max-mid-age", "1200").output
    assert a3(lake_dir) == ("matched", 1200)
    assert "up to date" in build("--max-mid-age", "1200").output
    build()
    assert a3(lake_dir) == ("stale", 60)


def test_the_environment_sets_it_too(lake_dir, monkeypatch):
    monkeypatch.setenv("KALSHI_MAX_MID_AGE_SECONDS", "1200")
    build()
    assert a3(lake_dir) == ("matched", 1200)


@pytest.mark.parametrize(("args", "env"), [(["--max-mid-age", "-5"], None), ([], "a minute"), ([], "-1")])
def test_a_bad_value_is_refused(lake_dir, monkeypatch, args, env):
    if env is not None:
        monkeypatch.setenv("KALSHI_MAX_MID_AGE_SECONDS", env)
    result = CliRunner().invoke(app, ["build", *args])
    assert result.exit_code != 0
    assert not (lake_dir / "kalshi.duckdb").exists()


def test_the_toml_key_and_its_validation(tmp_path):
    from kalshi_extract.errors import ConfigError
    from kalshi_extract.settings import Settings

    config = tmp_path / "kalshi-lake.toml"
    config.write_text("max_mid_age_seconds = 300\n")
    assert Settings.load(environ={}, config_path=config).max_mid_age_seconds == 300
    assert Settings.load(environ={}).max_mid_age_seconds is None
    config.write_text("max_mid_age_seconds = -3\n")
    with pytest.raises(ConfigError, match="max_mid_age_seconds|MAX_MID_AGE"):
        Settings.load(environ={}, config_path=config)
