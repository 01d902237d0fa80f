"""The CLI surface: every command has help, `--help` never imports Prefect, bad input exits non-zero with one
clear line and leaves the lake untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner

from kalshi_lake.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """No KALSHI_* variables from the developer's shell, a temp lake dir, a cwd without kalshi-lake.toml."""
    for key in list(os.environ):
        if key.startswith("KALSHI_"):
            monkeypatch.delenv(key)
    lake_dir = tmp_path / "data"
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(lake_dir))
    monkeypatch.chdir(tmp_path)
    return lake_dir


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield (*prefix, name), cmd
        if isinstance(cmd, click.Group):
            yield from _all_commands(cmd, (*prefix, name))


def test_every_command_has_help_text():
    root = typer.main.get_command(app)
    commands = list(_all_commands(root))
    names = {" ".join(path) for path, _ in commands}
    assert {"pull", "build", "sql", "status", "serve", "demo"} <= names
    runner = CliRunner()
    for path, cmd in commands:
        assert (cmd.help or cmd.short_help or "").strip(), f"`kalshi-lake {' '.join(path)}` has no help text"
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.output


def test_help_does_not_import_prefect():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from kalshi_lake.cli import app\n"
        "r = CliRunner()\n"
        "for args in (['--help'], ['pull', '--help'], ['build', '--help'], ['sql', '--help'],\n"
        "             ['status', '--help'], ['serve', '--help'], ['demo', '--help']):\n"
        "    assert r.invoke(app, args).exit_code == 0, args\n"
        "print('prefect' in sys.modules, 'duckdb' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


def _invoke(args: list[str]):
    return CliRunner().invoke(app, args)


def _assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    err = result.stderr.strip()
    assert err.count("\n") == 0, err
    assert err.startswith("error: "), err
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in err, err


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["pull", "tradez"], ["unknown stream 'tradez'", "did you mean 'trades'"]),
        (["pull", "trades", "--since", "2024-13-45"], ["--since", "not a date"]),
        (["pull", "trades", "--until", "yesterday"], ["--until", "not a date"]),
        (["pull", "--since", "2025-02-01", "--until", "2025-01-01"], ["must be before"]),
        (["pull", "fills"], ["private", "KALSHI_API_KEY_ID", "KALSHI_PRIVATE_KEY_PATH"]),
        (["pull", "markets", "balance"], ["private", "KALSHI_API_KEY_ID"]),
        (["sql", "select 1", "--format", "xml"], ["--format"]),
        (["sql", "select 1"], ["kalshi-lake build"]),
        (["sql", ""], ["no query given"]),
        (["sql", "   "], ["no query given"]),
        (["demo", "--size", "huge"], ["--size 'huge'"]),
        (["pull", "order_events"], ["order_events", "not pulled from the API"]),
    ],
)
def test_bad_invocations_fail_cleanly_and_change_nothing(clean_env, args, needles):
    result = _invoke(args)
    _assert_one_line_error(result, *needles)
    assert not clean_env.exists(), f"{args} touched {clean_env}"


def test_unknown_setting_is_a_one_line_error(clean_env, monkeypatch):
    monkeypatch.setenv("KALSHI_LAKE_DRI", "/tmp/x")
    result = _invoke(["pull", "markets"])
    _assert_one_line_error(result, "KALSHI_LAKE_DRI")
    assert not clean_env.exists()


def test_status_of_an_empty_lake(clean_env):
    result = _invoke(["status", "--json"])
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    streams = {s["stream"]: s for s in report["streams"]}
    assert streams["trades"]["rows"] == 0 and streams["trades"]["last_run"] is None
    assert not clean_env.exists()


def test_an_unusable_lake_dir_is_a_one_line_error(clean_env, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(blocker / "data"))
    _assert_one_line_error(_invoke(["build"]), "Not a directory")
    assert blocker.read_text() == "not a directory"


def test_demo_refuses_a_lake_it_did_not_create(clean_env):
    part = clean_env / "lake" / "trades" / "date=2026-01-01" / "part-real-00000.parquet"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"PAR1 real data")
    before = sorted(p.relative_to(clean_env) for p in clean_env.rglob("*"))
    _assert_one_line_error(_invoke(["demo"]), "holds a lake the demo did not create")
    assert sorted(p.relative_to(clean_env) for p in clean_env.rglob("*")) == before
