"""The schedules `kalshi-lake serve` runs come from settings; prefect.yaml deploys the same flows."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kalshi_extract.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"


def _crons(deployment) -> list[str]:
    return [s.schedule.cron for s in deployment.schedules]


def test_serve_deployments_follow_settings():
    from pipelines.serve import deployments

    settings = Settings.load(environ={"KALSHI_SCHEDULE_MARKET_DATA": "*/5 * * * *"})
    got = {d.name: d for d in deployments(settings)}
    assert set(got) == {"market-data", "build-models"}  # no key: the portfolio is not scheduled
    assert _crons(got["market-data"]) == ["*/5 * * * *"]
    assert got["market-data"].parameters == {"market_data": True, "portfolio": False, "build": True}
    assert got["market-data"].entrypoint.endswith("pipelines/flows.py:refresh")
    assert _crons(got["build-models"]) == []

    keyed = Settings.load(
        environ={
            "KALSHI_API_KEY_ID": "k",
            "KALSHI_PRIVATE_KEY": PEM,
            "KALSHI_SCHEDULE_PORTFOLIO": "7 * * * *",
        }
    )
    got = {d.name: d for d in deployments(keyed)}
    assert _crons(got["portfolio"]) == ["7 * * * *"]
    assert _crons(got["market-data"]) == ["*/15 * * * *"]  # the default
    assert got["portfolio"].parameters == {"market_data": False, "portfolio": True, "build": True}
    # Secrets never become deployment parameters.
    assert "PRIVATE KEY" not in repr([d.parameters for d in got.values()])


def test_prefect_yaml_points_at_real_flows_with_default_schedules():
    import importlib

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    defaults = Settings.load(environ={})
    by_name = {d["name"]: d for d in spec["deployments"]}
    assert by_name["market-data"]["schedules"][0]["cron"] == defaults.schedule_market_data
    assert by_name["portfolio"]["schedules"][0]["cron"] == defaults.schedule_portfolio
    for d in spec["deployments"]:
        path, name = d["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, name)
        assert hasattr(flow, "fn"), d["entrypoint"]  # a Prefect flow
        assert set(d.get("parameters", {})) <= set(flow.parameters.properties)


@pytest.mark.prefect
@pytest.mark.slow
def test_serve_deployments_register_with_their_schedules(prefect_harness):
    from prefect.client.orchestration import get_client

    from pipelines.serve import deployments

    settings = Settings.load(
        environ={
            "KALSHI_API_KEY_ID": "k",
            "KALSHI_PRIVATE_KEY": PEM,
            "KALSHI_SCHEDULE_MARKET_DATA": "*/10 * * * *",
        }
    )
    ids = {d.name: d.apply() for d in deployments(settings)}
    with get_client(sync_client=True) as client:
        got = {name: client.read_deployment(i) for name, i in ids.items()}
    assert [s.schedule.cron for s in got["market-data"].schedules] == ["*/10 * * * *"]
    assert [s.schedule.cron for s in got["portfolio"].schedules] == ["0 * * * *"]
    assert got["build-models"].schedules == []
    assert got["portfolio"].parameters == {"market_data": False, "portfolio": True, "build": True}
