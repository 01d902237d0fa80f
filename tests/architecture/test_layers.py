"""Which way imports go (docs/ARCHITECTURE.md), checked on the source: every import, at module level or inside a
function, of every file of the library, the product and the flows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("kalshi_extract", "kalshi_lake", "pipelines", "kalshi_sim")

# module prefix -> prefixes it must never import (checked on the longest matching importer prefix)
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "kalshi_extract.errors": ("kalshi_extract.",),
    "kalshi_extract.settings": (
        "kalshi_extract.api",
        "kalshi_extract.lake",
        "kalshi_extract.ingest",
        "kalshi_extract.orders",
    ),
    "kalshi_extract.money": (
        "kalshi_extract.api",
        "kalshi_extract.lake",
        "kalshi_extract.ingest",
        "kalshi_extract.orders",
    ),
    "kalshi_extract.api": ("kalshi_extract.lake", "kalshi_extract.ingest", "kalshi_extract.orders"),
    "kalshi_extract.ws": ("kalshi_extract.lake", "kalshi_extract.ingest", "kalshi_extract.orders"),
    "kalshi_extract.lake": ("kalshi_extract.api", "kalshi_extract.ingest", "kalshi_extract.orders"),
    "kalshi_extract.ingest": ("kalshi_extract.orders",),
    "kalshi_extract.orders": ("kalshi_extract.ingest",),
    "kalshi_extract": ("kalshi_lake", "pipelines", "kalshi_sim", "prefect"),
    "pipelines": ("kalshi_sim", "kalshi_lake.cli"),
    # the local exchange shares no code with the client, so neither can hide the other's mistakes
    "kalshi_sim": ("kalshi_extract", "kalshi_lake", "pipelines"),
}
# kalshi_lake reaches pipelines (and so Prefect) only here: `--prefect` and `serve`, inside the commands.
PIPELINES_DOORS = {"kalshi_lake.cli.data_cmd"}
# The product may start the local exchange for the demo and `kalshi-lake exchange`, inside functions only.
SIM_DOORS = {"kalshi_lake.demo", "kalshi_lake.cli.exchange_cmd"}
# these may import Prefect (at module level even)
PREFECT_OK = ("pipelines",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _files() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _type_only(tree: ast.Module) -> set[int]:
    """Imports under `if TYPE_CHECKING:` (annotations only: never run, so never part of an import cycle)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return out


def _imports(name: str, path: Path, runtime_only: bool = False) -> list[tuple[str, bool, int]]:
    """(imported module, at module level?, line) for every import in the file."""
    tree = ast.parse(path.read_text(), str(path))
    skip = _type_only(tree) if runtime_only else set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    top = {id(n) for n in tree.body}
    for n in tree.body:  # `if TYPE_CHECKING:` / try blocks at module level count as module level
        if isinstance(n, ast.If | ast.Try):
            top |= {id(m) for m in ast.walk(n)}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(a.name, id(node) in top, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            out.append((base, id(node) in top, node.lineno))
            out += [(f"{base}.{a.name}", id(node) in top, node.lineno) for a in node.names]
    return out


def _rule_for(name: str) -> tuple[str, ...]:
    best = max((p for p in FORBIDDEN if name == p or name.startswith(p + ".")), key=len, default=None)
    if best is None:
        return ()
    # a module is bound by its own rule and by every wider rule above it (kalshi_extract.api also by kalshi_extract)
    rules: list[str] = []
    for prefix, banned in FORBIDDEN.items():
        if name == prefix or name.startswith(prefix + "."):
            rules += banned
    return tuple(rules)


def _hits(target: str, banned: tuple[str, ...]) -> bool:
    return any(
        target == b.rstrip(".") or target.startswith(b if b.endswith(".") else b + ".") for b in banned
    )


def test_imports_go_the_documented_way():
    problems = []
    for name, path in _files().items():
        banned = _rule_for(name)
        for target, at_top, line in _imports(name, path):
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if _hits(target, banned):
                problems.append(where)
            if _hits(target, ("pipelines",)) and name.startswith("kalshi_lake"):
                if name not in PIPELINES_DOORS or at_top:
                    problems.append(where + " (only the CLI's --prefect/serve, inside the command)")
            if _hits(target, ("kalshi_sim",)) and name.startswith("kalshi_lake"):
                if name not in SIM_DOORS or at_top:
                    problems.append(where + " (only the demo and `exchange`, inside functions)")
            if _hits(target, ("prefect",)) and not name.startswith(PREFECT_OK):
                problems.append(where + " (only pipelines imports Prefect)")
    assert not problems, "imports against docs/ARCHITECTURE.md:\n" + "\n".join(problems)


def _graph() -> dict[str, set[str]]:
    files = _files()
    graph: dict[str, set[str]] = {n: set() for n in files}
    for name, path in files.items():
        for target, _, _ in _imports(name, path, runtime_only=True):
            if target in files and target != name:
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _without_package_inits(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's __init__ that only re-exports its modules is not a cycle with them: `from pkg.mod import x`
    runs `pkg/__init__` first, which is Python's doing, not a dependency the code chose."""
    files = _files()
    inits = {n for n, p in files.items() if p.name == "__init__.py"}
    return {n: {t for t in deps if not (t in inits and n.startswith(t + "."))} for n, deps in graph.items()}


def test_no_import_cycles_between_files():
    cycles = _cycles(_without_package_inits(_graph()))
    assert not cycles, "import cycles (each line one cycle):\n" + "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("case", ["cycle", "forbidden"])
def test_the_checks_can_fail(case):
    if case == "cycle":
        assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    else:
        assert _hits("kalshi_extract.api.client", _rule_for("kalshi_extract.lake.store"))
        assert not _hits("kalshi_extract.errors", _rule_for("kalshi_extract.lake.store"))
