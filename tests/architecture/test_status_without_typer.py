"""`kalshi-lake status` run by `main` without typer (kalshi_lake/cli/status_view.py) prints what the typer command
prints: stdout byte for byte, warnings as one line, errors (the typer command runs then) as one line and exit 1."""

from __future__ import annotations

import os
import sys
import warnings

import pytest
from typer.testing import CliRunner

from kalshi_extract.ingest import status as status_lib
from kalshi_lake import cli


@pytest.fixture
def lake_dir(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("KALSHI_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "data"


def _main(args: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["kalshi-lake", *args])
    calls = []
    real = cli.app_for
    monkeypatch.setattr(cli, "app_for", lambda a: calls.append(a) or real(a))
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    return code, out, err, calls


def _frozen_now(monkeypatch):
    from datetime import UTC, datetime

    real = status_lib.lake_status
    monkeypatch.setattr(
        status_lib,
        "lake_status",
        lambda s, now=None, **kw: real(s, now=datetime(2026, 12, 3, tzinfo=UTC), **kw),
    )


@pytest.mark.parametrize("args", [["status"], ["status", "--json"]])
def test_status_without_typer_prints_what_the_typer_command_prints(args, lake_dir, capsys, monkeypatch):
    _frozen_now(monkeypatch)
    code, out, err, calls = _main(args, capsys, monkeypatch)
    assert calls == [] and code == 0 and err == ""  # typer's app was never built
    ref = CliRunner().invoke(cli.build_app(), args)
    assert ref.exit_code == 0 and out == ref.stdout


def test_status_without_typer_words_warnings_as_every_command_does(lake_dir, capsys, monkeypatch):
    real = status_lib.lake_status

    def warns(settings, **kw):
        warnings.warn("the key file is\n readable by others", UserWarning, stacklevel=1)
        return real(settings, **kw)

    monkeypatch.setattr(status_lib, "lake_status", warns)
    code, out, err, calls = _main(["status", "--json"], capsys, monkeypatch)
    assert calls == [] and code == 0 and '"streams"' in out
    assert err == "warning: the key file is readable by others\n"
    ref = CliRunner().invoke(cli.build_app(), ["status", "--json"])
    assert ref.stderr == err


def test_an_error_goes_through_the_typer_command_one_line(lake_dir, capsys, monkeypatch):
    lake_dir.parent.joinpath("file").write_text("")
    monkeypatch.setenv("KALSHI_LAKE_DIR", str(lake_dir.parent / "file" / "data"))
    code, out, err, calls = _main(["status"], capsys, monkeypatch)
    assert calls == [["status"]]  # the typer command ran, and said it its way
    assert code == 1 and out == "" and err.startswith("error: the lake directory") and err.count("\n") == 1


def test_a_closed_stdout_is_one_error_line(lake_dir, capsys, monkeypatch):
    from kalshi_lake.cli import status_view

    def broken(text, err=False):
        if not err:
            raise BrokenPipeError(32, "Broken pipe")
        sys.stderr.write(text + "\n")

    monkeypatch.setattr(status_view, "_echo", broken)
    code, out, err, calls = _main(["status", "--json"], capsys, monkeypatch)
    assert calls == [] and code == 1 and err == "error: [Errno 32] Broken pipe\n"
