"""Rule code reads a stream's declaration, never its name.

Per-stream behaviour is a field of :class:`~kalshi_extract.ingest.streams.StreamDef` (``dedup_scope``,
``open_days``, ``recheck_resting``…). This test parses the ingest modules that run streams and fails on:

- a comparison involving a stream declaration's ``.name`` (``sdef.name == "orders"``,
  ``ctx.sdef.name in R.DEDUP_ALL``), or a variable bound from one (``name = ctx.sdef.name``; ``name in (...)``);
- a comparison of a variable called ``name``/``stream`` with a literal stream name;
- a module-level table keyed by stream names (``DEDUP = {"orders": ...}``, ``frozenset({"orders", ...})``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kalshi_extract.ingest.streams import STREAM_NAMES

INGEST = Path(__file__).resolve().parents[2] / "kalshi_extract" / "ingest"
RULE_MODULES = ["rule_base.py", "rules.py", "time_rule.py", "state_rules.py", "shapes.py", "pull.py"]
_STREAM_NAMES = frozenset(STREAM_NAMES)


def _is_stream_name_attr(node: ast.AST) -> bool:
    """``<...sdef...>.name`` / ``<...stream...>.name``."""
    if not (isinstance(node, ast.Attribute) and node.attr == "name"):
        return False
    owner = ast.unparse(node.value).lower()
    return "sdef" in owner or "stream" in owner


def _literal_names(node: ast.AST) -> set[str]:
    """Stream names spelled as literals in ``node`` (a string, or a tuple/list/set/frozenset of strings)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value} & _STREAM_NAMES
    if isinstance(node, ast.Call) and ast.unparse(node.func) in ("frozenset", "set", "tuple") and node.args:
        return _literal_names(node.args[0])
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return set().union(*(_literal_names(e) for e in node.elts)) if node.elts else set()
    return set()


def _names_bound_to_stream_name(tree: ast.AST) -> set[str]:
    """Variables assigned from a stream declaration's name (``name, sel = ctx.sdef.name, ctx.selection``)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = []
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(target.elts, node.value.elts, strict=False))
            else:
                pairs = [(target, node.value)]
            for t, v in pairs:
                if isinstance(t, ast.Name) and _is_stream_name_attr(v):
                    bound.add(t.id)
    return bound


def _stream_keyed_tables(tree: ast.Module) -> list[tuple[int, str]]:
    """Module-level constants whose keys or elements are all stream names."""
    found = []
    for node in tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
            continue
        value = node.value
        keys: list[ast.AST] = []
        if isinstance(value, ast.Dict):
            keys = [k for k in value.keys if k is not None]
        elif isinstance(value, ast.Call) and ast.unparse(value.func) in ("frozenset", "set") and value.args:
            inner = value.args[0]
            keys = list(inner.elts) if isinstance(inner, ast.Tuple | ast.List | ast.Set) else []
        elif isinstance(value, ast.Set):
            keys = list(value.elts)
        if keys and all(_literal_names(k) for k in keys):
            found.append((node.lineno, ast.unparse(node)[:80]))
    return found


def name_branches(source: str) -> list[tuple[int, str]]:
    """(line, code) of every place in ``source`` that chooses behaviour by a stream's name."""
    tree = ast.parse(source)
    bound = _names_bound_to_stream_name(tree)
    found = _stream_keyed_tables(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        by_attr = any(_is_stream_name_attr(o) for o in operands)
        by_bound = any(isinstance(o, ast.Name) and o.id in bound for o in operands)
        by_literal = any(isinstance(o, ast.Name) and o.id in ("name", "stream") for o in operands) and any(
            _literal_names(o) for o in operands
        )
        if by_attr or by_bound or by_literal:
            found.append((node.lineno, ast.unparse(node)))
    return sorted(found)


@pytest.mark.parametrize("module", RULE_MODULES)
def test_rule_code_never_branches_on_a_stream_name(module):
    hits = name_branches((INGEST / module).read_text())
    assert not hits, (
        f"{module} chooses behaviour by a stream's name; add a field to StreamDef instead:\n"
        + "\n".join(f"  line {line}: {code}" for line, code in hits)
    )


@pytest.mark.parametrize(
    "snippet",
    [
        'if sdef.name == "orders":\n    pass',
        'x = 1 if ctx.sdef.name != "trades" else 2',
        "by_time = sdef.name not in R.DEDUP_ALL",
        'name, sel = ctx.sdef.name, ctx.selection\nif name in ("balance", "exchange_status"):\n    pass',
        'def f(name):\n    return name == "markets"',
        'DEDUP = {"orders": ("order_id", "status")}',
        'DEDUP_ALL = frozenset({"orders", "settlements"})',
    ],
)
def test_the_check_catches_each_kind_of_name_branch(snippet):
    assert name_branches(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'if sdef.level == "series":\n    pass',
        'by_time = sdef.dedup_scope == "window"',
        'FINAL_STATUSES = frozenset({"finalized", "settled"})',
        "w = ctx.lake.writer(sdef.name, ctx.run_id)",
    ],
)
def test_the_check_lets_fields_and_plain_uses_of_a_name_pass(snippet):
    assert not name_branches(snippet), snippet


def test_every_rule_module_exists():
    missing = [m for m in RULE_MODULES if not (INGEST / m).exists()]
    assert not missing, f"moved or renamed? update RULE_MODULES: {missing}"
