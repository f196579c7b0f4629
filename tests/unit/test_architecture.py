"""The layout's rules, checked on the code itself (docs/internals.md, "Rooms").

Each rule reads the source as text (``ast``), so it holds for code paths no other test runs:
no import cycles, no function-local imports outside the heavy-import boundary, rooms import only
the rooms below them, services never touch an adapter, a DynamoDB key string is spelled only in
the table module, and every service has a test that runs on fakes alone. Each checker is also
run on a small tree made to break it, so a checker that cannot fail would show.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "layers" / "core"
SOURCE_ROOTS = (CORE, ROOT / "infra", ROOT / "functions")

# Third-party packages a function body may import: heavy to load, needed by one path only
# (training-side pandas/scikit-learn; onnxruntime opened on first predict; moto and the local
# cloud, which the CLI loads only for the commands that start one).
HEAVY_IMPORTS = frozenset(
    {"pandas", "numpy", "scipy", "sklearn", "skl2onnx", "onnx", "onnxruntime", "pyarrow"}
    | {"moto", "samtranslator", "jsonata"}
)
CLI_ONLY_HEAVY_IMPORTS = frozenset({"localcloud"})

# Who may import whom inside lockgate: room -> rooms it may import (itself included).
ROOMS: dict[str, frozenset[str]] = {
    "errors": frozenset(),
    "config": frozenset({"errors"}),
    "domain": frozenset({"errors", "domain"}),
    "ports": frozenset({"errors", "domain"}),
    "ml": frozenset({"errors", "domain", "ml"}),
    "serving": frozenset({"errors", "domain", "ports", "serving"}),
    "reports": frozenset({"errors", "domain", "ml", "reports"}),
    "services": frozenset({"errors", "domain", "ports", "ml", "serving", "reports", "services"}),
    "adapters": frozenset({"errors", "config", "domain", "ports", "adapters"}),
}

KEY_STRING = re.compile(
    r"""[frb]*["'](?:(?:MODEL|VERSION|RUNVERSION|ALIAS|ALIASLOG|RUN|DATASET|UPLOAD|DRIFT|LABELS|TOKEN|RETRAIN)#|MODELS["'])"""
)
AWS_IN_TESTS = re.compile(r"^\s*(?:from|import) (?:moto|boto3|lockgate\.adapters)\b|mock_aws", re.M)
TABLE_MODULE = CORE / "lockgate" / "adapters" / "dynamodb" / "table.py"


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (or package, when the name imported is not a module)
    line: int
    local: bool  # inside a function body


def module_name(path: Path, root: Path) -> str:
    """``layers/core/lockgate/x/y.py`` -> ``lockgate.x.y``; ``functions/api/app.py`` -> ``functions.api.app``."""
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if root.name == "functions":
        parts = ["functions", *parts]
    return ".".join(parts)


def source_files(roots: tuple[Path, ...] = SOURCE_ROOTS) -> Iterator[tuple[Path, Path]]:
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if ".venv" not in path.parts:
                yield root, path


def _function_nodes(tree: ast.AST) -> set[int]:
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for sub in ast.walk(node):
                if sub is not node:
                    inside.add(id(sub))
    return inside


def imports_of(path: Path, root: Path, known: set[str]) -> list[Import]:
    """Every import in a file, resolved to the module it loads when that module is ours."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    source = module_name(path, root)
    local = _function_nodes(tree)
    package = source if path.name == "__init__.py" else source.rpartition(".")[0]
    found: list[Import] = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if root.name == "functions" and base.split(".")[0] == "chalicelib":
                base = f"{'.'.join(source.split('.')[:2])}.{base}"  # the function's own folder
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                targets.append(candidate if candidate in known else base)
        else:
            continue
        found += [Import(source, t, node.lineno, id(node) in local) for t in targets]
    return found


def import_graph(roots: tuple[Path, ...] = SOURCE_ROOTS) -> tuple[dict[str, set[str]], list[Import]]:
    files = list(source_files(roots))
    known = {module_name(path, root) for root, path in files}
    edges: dict[str, set[str]] = {name: set() for name in known}
    every: list[Import] = []
    for root, path in files:
        for imp in imports_of(path, root, known):
            every.append(imp)
            if imp.target in known and imp.target != imp.source:
                edges[imp.source].add(imp.target)
    return edges, every


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "lockgate" and len(parts) > 1 else None


def room_violations(every: list[Import]) -> list[str]:
    out = []
    for imp in every:
        mine, theirs = room(imp.source), room(imp.target)
        if mine is None or theirs is None or mine not in ROOMS:
            continue
        if theirs not in ROOMS[mine]:
            out.append(f"{imp.source}:{imp.line} imports {imp.target} ({mine} may not import {theirs})")
    return out


def local_import_violations(every: list[Import]) -> list[str]:
    def allowed(imp: Import) -> bool:
        top = imp.target.split(".")[0]
        cli = imp.source.startswith("lockgate_cli.")
        return top in HEAVY_IMPORTS or (cli and top in CLI_ONLY_HEAVY_IMPORTS)

    return [
        f"{imp.source}:{imp.line} imports {imp.target} inside a function"
        for imp in every
        if imp.local and not allowed(imp)
    ]


def key_string_violations(roots: tuple[Path, ...] = SOURCE_ROOTS, *, table: Path = TABLE_MODULE) -> list[str]:
    out = []
    for _, path in source_files(roots):
        if path == table:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if KEY_STRING.search(line):
                where = path.relative_to(ROOT) if ROOT in path.parents else path
                out.append(f"{where}:{number}: {line.strip()}")
    return out


# ----------------------------------------------------------------------------- the rules


def test_there_is_no_import_cycle() -> None:
    edges, _ = import_graph()
    assert cycles(edges) == []


def test_no_function_local_import_outside_the_heavy_import_boundary() -> None:
    _, every = import_graph()
    assert local_import_violations(every) == []


def test_each_room_imports_only_the_rooms_below_it() -> None:
    _, every = import_graph()
    assert room_violations(every) == []


def test_services_import_no_adapter_and_no_settings() -> None:
    _, every = import_graph()
    offending = [
        f"{imp.source}:{imp.line} -> {imp.target}"
        for imp in every
        if room(imp.source) == "services" and room(imp.target) in ("adapters", "config")
    ]
    assert offending == []


def test_a_dynamodb_key_string_is_spelled_only_in_the_table_module() -> None:
    assert key_string_violations() == []


def test_every_service_has_a_test_that_runs_on_fakes_alone() -> None:
    services = sorted(p.stem for p in (CORE / "lockgate" / "services").glob("*.py") if p.stem != "__init__")
    tests = ROOT / "tests" / "unit" / "services"
    missing = [s for s in services if not (tests / f"test_{s}.py").exists()]
    assert missing == [], f"services without a fakes-only test in tests/unit/services: {missing}"
    on_aws = [
        s for s in services if AWS_IN_TESTS.search((tests / f"test_{s}.py").read_text(encoding="utf-8"))
    ]
    assert on_aws == [], f"these service tests reach moto or an adapter instead of tests/fakes: {on_aws}"


# ----------------------------------------------------------------------------- the checkers can fail


@pytest.fixture
def broken_tree(tmp_path: Path) -> Path:
    """A tiny core that breaks every rule once."""
    core = tmp_path / "core"
    (core / "lockgate" / "services").mkdir(parents=True)
    (core / "lockgate" / "adapters").mkdir()
    (core / "lockgate" / "__init__.py").write_text("")
    (core / "lockgate" / "services" / "__init__.py").write_text("")
    (core / "lockgate" / "adapters" / "__init__.py").write_text("")
    (core / "lockgate" / "services" / "a.py").write_text(
        "from lockgate.adapters import b\n\ndef f():\n    import json\n    return json\n"
    )
    (core / "lockgate" / "adapters" / "b.py").write_text(
        'from lockgate.services import a\n\nKEY = f"MODEL#{a}"\n\ndef g():\n    import pandas\n'
    )
    return core


def test_the_checkers_catch_a_tree_that_breaks_each_rule(broken_tree: Path) -> None:
    edges, every = import_graph((broken_tree,))
    assert cycles(edges) == [["lockgate.adapters.b", "lockgate.services.a"]]
    assert [v.split(" ")[0] for v in local_import_violations(every)] == ["lockgate.services.a:4"]
    assert sorted(room_violations(every)) == [
        "lockgate.adapters.b:1 imports lockgate.services.a (adapters may not import services)",
        "lockgate.services.a:1 imports lockgate.adapters.b (services may not import adapters)",
    ]
    assert len(key_string_violations((broken_tree,), table=broken_tree / "none.py")) == 1
