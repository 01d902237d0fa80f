"""Fixtures for the order tests."""

from __future__ import annotations

import pytest

from tests.orders.helpers import Cli, cli_env


@pytest.fixture
def make_cli(tmp_path):
    def make(acct, **extra) -> Cli:
        return Cli(cli_env(acct.env, tmp_path / "data", **extra))

    return make
