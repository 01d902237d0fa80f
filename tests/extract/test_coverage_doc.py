"""docs/COVERAGE.md lists every operation of the official spec with what kalshi-lake does with it, and stays true:
it is regenerated from the spec, the endpoint registry and the stream declarations (docs/gen_coverage.py)."""

from __future__ import annotations

import copy
import importlib.util

import pytest

from tests.shared_paths import SPEC

yaml = pytest.importorskip("yaml")
pytestmark = pytest.mark.skipif(not SPEC.exists(), reason="the OpenAPI spec folder is absent")


@pytest.fixture(scope="module")
def gen():
    from tests.shared_paths import _REPO

    spec = importlib.util.spec_from_file_location("gen_coverage", _REPO / "docs" / "gen_coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spec():
    return yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def test_the_committed_list_is_current(gen, spec):
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(spec), "run `uv run python docs/gen_coverage.py`"


def test_every_operation_of_the_spec_is_listed_once(gen, spec):
    text = gen.OUT.read_text(encoding="utf-8")
    ops = gen.operations(spec)
    assert len(ops) == 101
    for op in ops:
        assert text.count(f"| {op['id']} |") == 1, op["id"]
    for line in text.splitlines():
        if line.startswith("| ") and "`/" in line:
            assert line.split(" | ")[4] in ("landed", "called", "planned", "out"), line
    assert "| GetMultivariateEvents | landed | `mve_events` |" in text
    assert "| GetMarkets | landed | `combo_markets`, `markets` |" in text


def test_a_new_operation_without_a_decision_fails(gen, spec):
    grown = copy.deepcopy(spec)
    grown["paths"]["/portfolio/new_thing"] = {"get": {"operationId": "GetNewThing", "tags": ["portfolio"]}}
    with pytest.raises(ValueError, match="GetNewThing"):
        gen.render(grown)


def test_a_decision_for_an_operation_the_client_calls_fails(gen, spec, monkeypatch):
    monkeypatch.setitem(gen.DECISIONS, "GetMultivariateEvents", ("out", "stale"))
    with pytest.raises(ValueError, match="still carry a decision"):
        gen.render(spec)


def test_a_decision_for_an_unknown_operation_fails(gen, spec, monkeypatch):
    monkeypatch.setitem(gen.DECISIONS, "GetGone", ("out", "removed"))
    with pytest.raises(ValueError, match="GetGone"):
        gen.render(spec)
