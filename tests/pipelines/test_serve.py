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
    assert set(got) == {"market-data", "build-models", "compact"}  # no key: the portfolio is not scheduled
    assert _crons(got["compact"]) == ["17 3 * * *"]  # the lake is compacted daily
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
    assert by_name["pool-market-data"]["schedules"][0]["cron"] == defaults.schedule_market_data
    assert by_name["pool-portfolio"]["schedules"][0]["cron"] == defaults.schedule_portfolio
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


@pytest.mark.slow
def test_serve_runs_on_schedule_without_a_configured_server_and_stops_at_once(tmp_path):
    """Prefect's temporary server runs no scheduler: `serve` starts a real one, so a cron tick really runs a flow
    (a `_runs` row lands), and Ctrl-C stops everything within seconds."""
    import glob
    import os
    import re
    import signal
    import subprocess
    import sys
    import time

    from kalshi_sim import LocalExchange

    with LocalExchange(size="tiny") as ex:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KALSHI_", "PREFECT_"))}
        env.update(
            KALSHI_ENV="local",
            KALSHI_API_URL=ex.base_url,
            KALSHI_LAKE_DIR=str(tmp_path / "data"),
            KALSHI_SCHEDULE_MARKET_DATA="* * * * *",
            PREFECT_HOME=str(tmp_path / "prefect-home"),
        )
        proc = subprocess.Popen(
            [sys.executable, "-c", "from kalshi_lake.cli import main; main()", "serve"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300  # server start (≤ ~60 s here) + the next minute + the run
            runs = str(tmp_path / "data" / "lake" / "_runs" / "*" / "*.parquet")
            while not glob.glob(runs) and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(2)
            ticked = bool(glob.glob(runs))
            stop = time.monotonic()
            os.killpg(proc.pid, signal.SIGINT)
            out, _ = proc.communicate(timeout=60)
            stopped_in = time.monotonic() - stop
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
    assert ticked, out[-3000:]
    assert "starting a local Prefect server" in out
    assert stopped_in < 30 and proc.returncode == 0, (stopped_in, proc.returncode, out[-2000:])
    port = re.search(r"starting a local Prefect server .* at http://127\.0\.0\.1:(\d+)", out).group(1)
    processes = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert f"--port {port}" not in processes  # the server it started is gone too


def test_prefect_yaml_is_portable_and_serialises_the_warehouse_writers():
    from pipelines.serve import deployments

    text = (ROOT / "prefect.yaml").read_text()
    spec = yaml.safe_load(text)
    assert "$PWD" not in text  # no absolute path of the machine that deployed
    steps = [next(iter(step)) for step in spec["pull"]]
    assert steps and all(s.startswith("prefect.deployments.steps.") for s in steps)
    for step in spec["pull"]:
        for value in next(iter(step.values())).values():
            assert not str(value).startswith("/"), step
    keyed = Settings.load(
        environ={"KALSHI_API_KEY_ID": "k", "KALSHI_PRIVATE_KEY": PEM, "KALSHI_RECORD_SERIES": "KXHIGHNY"}
    )
    served = {(d.flow_name, d.name) for d in deployments(keyed)}
    entry_flow = {
        "refresh": "refresh",
        "build_models": "build_models",
        "record": "record",
        "compact": "compact",
    }
    mine = {(entry_flow[d["entrypoint"].split(":")[1]], d["name"]) for d in spec["deployments"]}
    assert not served & mine, served & mine  # `prefect deploy` does not overwrite what `serve` registered
    # every deployment that writes the DuckDB file runs in one queue of one slot: never two at once
    writers = [d for d in spec["deployments"] if d["entrypoint"].split(":")[1] in ("refresh", "build_models")]
    assert {d["work_pool"]["work_queue_name"] for d in writers} == {"warehouse"}
    assert "--limit 1" in text and "work-queue create warehouse" in text
    compact = [d for d in spec["deployments"] if d["entrypoint"].endswith(":compact")]
    assert compact and compact[0]["schedules"][0]["cron"]


@pytest.mark.parametrize(
    ("api", "ui"),
    [
        ("http://127.0.0.1:4321/api", "http://127.0.0.1:4321"),
        ("https://prefect.example.com/prefect/api/", "https://prefect.example.com/prefect"),
        ("https://api.prefect.cloud/api/accounts/a/workspaces/w", "https://app.prefect.cloud"),
    ],
)
def test_serve_names_the_ui_of_the_configured_server(api, ui):
    from pipelines.server import ui_url

    assert ui_url(api) == ui
