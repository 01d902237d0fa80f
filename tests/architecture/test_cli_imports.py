"""What the CLI imports to start (issue #20: `status` ≤ 0.5 s): `main` builds only the invoked command's module
(`status` runs without typer at all), and `status` / `--help` import neither pydantic (typer's conversion, built only for a given value) nor Prefect,
DuckDB or `pyarrow.dataset`. Import sets, not timings: figures are in BENCHMARKS.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import typer

from kalshi_lake import cli

ROOT = Path(__file__).resolve().parents[2]


def _names(app: typer.Typer) -> set[str]:
    group = typer.main.get_group(app)
    return set(group.commands)


def test_command_modules_name_what_each_module_registers():
    everything = _names(cli.build_app())
    assert everything == set(cli.COMMAND_MODULES) | {"version"}, "add the new command to COMMAND_MODULES"
    for module in cli.MODULES:
        registered = _names(cli.build_app((module,))) - {"version"}
        mapped = {name for name, owner in cli.COMMAND_MODULES.items() if owner == module}
        assert registered == mapped, module


def test_a_one_command_module_still_runs_its_command_by_name():
    # record and run register one command each: with `version` beside it the root stays a group
    for name in ("record", "run"):
        group = typer.main.get_command(cli.app_for([name, "--help"]))
        assert isinstance(group, typer.core.TyperGroup)
        assert name in group.commands


_PROBE = """
import atexit, json, sys
def report():
    print("MODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr)
atexit.register(report)
from kalshi_lake.cli import main
main()
"""

NEVER = ("pydantic", "prefect", "duckdb", "pyarrow.dataset", "kalshi_sim", "pipelines")


def _imported(args: list[str], lake_dir: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "KALSHI_LAKE_DIR": str(lake_dir),
            "COLUMNS": "120",
            "HOME": str(lake_dir),
        },
        timeout=120,
    )
    line = next(x for x in out.stderr.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES "))), out


def _top(modules: set[str]) -> set[str]:
    return modules | {m.split(".")[0] for m in modules}


def test_status_imports_no_command_module_and_no_typer(tmp_path):
    for args in (["status"], ["status", "--json"]):
        modules, out = _imported(args, tmp_path)
        assert out.returncode == 0, out.stderr
        assert "stream" in out.stdout
        banned = {*NEVER, "typer", "click", "rich"} - ({"rich"} if args == ["status"] else set())
        assert not _top(modules) & banned, sorted(_top(modules) & banned)
        commands = {m for m in modules if m.startswith("kalshi_lake.cli.") and m.endswith("_cmd")}
        assert commands == set()  # kalshi_lake.cli.status_view, not the typer command (see main)


def test_status_help_and_a_bad_option_still_go_through_typer(tmp_path):
    modules, out = _imported(["status", "--help"], tmp_path)
    assert out.returncode == 0 and "--json" in out.stdout and "typer" in modules
    modules, out = _imported(["status", "--jsn"], tmp_path)
    assert out.returncode == 2 and "--jsn" in out.stderr


def test_help_imports_no_pyarrow_pydantic_or_prefect(tmp_path):
    modules, out = _imported(["--help"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert all(f" {name} " in out.stdout for name in cli.COMMAND_MODULES), out.stdout  # every command listed
    assert not _top(modules) & {*NEVER, "pyarrow"}, sorted(_top(modules) & {*NEVER, "pyarrow"})


def test_sql_imports_no_pydantic_for_a_query_and_the_defaults(tmp_path):
    import duckdb

    duckdb.connect(str(tmp_path / "kalshi.duckdb")).close()  # an empty warehouse
    modules, out = _imported(["sql", "select 1 as x"], tmp_path)
    assert out.returncode == 0 and "1 row" in out.stdout, out.stderr
    assert "pydantic" not in _top(modules)  # the query is a str, --format and --limit their defaults
    modules, out = _imported(["sql", "select 1 as x", "--limit", "x"], tmp_path)
    assert out.returncode == 2 and "valid integer" in out.stderr  # a given value: typer's own conversion
    assert "pydantic" in _top(modules)


def test_lazy_coercion_returns_what_typer_returns():
    from types import SimpleNamespace

    from typer._coercion import build_runtime_param, resolve_type_descriptor
    from typer.models import OptionInfo

    from kalshi_lake.cli.lazy_coercion import _LazyRuntimeParam

    one = SimpleNamespace(multiple=False, nargs=1)
    cases = [
        (str, OptionInfo(), ["select 1", "", " x "]),
        (bool, OptionInfo(), [True, False, "true", " yes "]),
        (int, OptionInfo(), [200, 0, -3, "7"]),
        (int, OptionInfo(min=0, clamp=True), [-3, 5]),  # clamped: not passed through
    ]
    for annotation, info, values in cases:
        descriptor = resolve_type_descriptor(annotation, info)
        for value in values:
            want = build_runtime_param(descriptor).coerce(value, param=one, ctx=None)
            got = _LazyRuntimeParam(build_runtime_param, descriptor).coerce(value, param=one, ctx=None)
            assert (got, type(got)) == (want, type(want)), (annotation, value)
