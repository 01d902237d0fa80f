"""The wheel is the product: `uv build`, install it into a fresh environment outside the checkout, and run
`kalshi-lake demo` and `kalshi-lake build` there (issue #12: `pip install kalshi-lake` must build models).

Dependencies are pinned to uv.lock (`uv export` as constraints) so the install is served from uv's cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
MARTS = sorted(p.stem for layer in ("intermediate", "marts") for p in (REPO / "sql" / layer).glob("*.sql"))

pytestmark = pytest.mark.slow


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` exports UV, the path of its own binary
    if not uv:
        pytest.fail("uv is not on PATH: this test builds and installs the wheel with uv")
    return uv


def _run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600):
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    return proc


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that could point Python or kalshi-lake back at the checkout."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "PYTHONSTARTUP")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("KALSHI_")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtual environment, outside the checkout, with only the built wheel installed; its bin dir."""
    uv = _uv()
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    _run([uv, "build", "--wheel", "--out-dir", str(dist), str(REPO)], cwd=root, env=_clean_env())
    (wheel,) = dist.glob("kalshi_lake-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kalshi_lake/warehouse/sql/sources.toml" in names
    shipped = {n.removeprefix("kalshi_lake/warehouse/") for n in names}
    assert {str(p.relative_to(REPO)) for p in (REPO / "sql").rglob("*") if p.is_file()} <= shipped

    constraints = root / "constraints.txt"
    _run(
        [uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-o", str(constraints)],
        cwd=REPO,
        env=_clean_env(),
    )
    venv = root / "venv"
    _run([uv, "venv", "--python", sys.executable, str(venv)], cwd=root, env=_clean_env())
    python = venv / "bin" / "python"
    _run(
        [uv, "pip", "install", "--python", str(python), "-c", str(constraints), str(wheel)],
        cwd=root,
        env=_clean_env(),
    )
    return venv / "bin"


def test_installed_wheel_runs_demo_and_build(installed: Path, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    lake_dir = tmp_path / "lake"
    env = _clean_env(KALSHI_LAKE_DIR=str(lake_dir), PREFECT_HOME=str(tmp_path / "prefect"))

    # the code that runs is the installed copy, and it finds the models it shipped with
    where = _run(
        [
            str(installed / "python"),
            "-c",
            "import kalshi_lake, kalshi_extract, kalshi_sim; from kalshi_lake import warehouse; "
            "print(kalshi_lake.__file__); print(kalshi_extract.__file__); print(kalshi_sim.__file__); "
            "print(warehouse.SQL_DIR)",
        ],
        cwd=work,
        env=env,
    ).stdout.split()
    venv = installed.parent.resolve()
    for path in where:
        assert Path(path).resolve().is_relative_to(venv), f"{path} is not inside the fresh venv {venv}"
        assert not Path(path).resolve().is_relative_to(REPO)
    assert Path(where[-1]).name == "sql" and (Path(where[-1]) / "sources.toml").is_file()

    _run([str(installed / "kalshi-lake"), "demo", "--size", "tiny"], cwd=work, env=env)
    unchanged = _run([str(installed / "kalshi-lake"), "build"], cwd=work, env=env)
    assert "is up to date" in unchanged.stdout  # the demo just built it from this lake
    built = _run([str(installed / "kalshi-lake"), "build", "--force"], cwd=work, env=env)
    assert "built" in built.stdout

    con = duckdb.connect(str(lake_dir / "kalshi.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        assert set(MARTS) <= tables, f"missing marts: {sorted(set(MARTS) - tables)}"
        (trades,) = con.execute("select count(*) from fct_market_daily").fetchone()
        assert trades > 0
    finally:
        con.close()
