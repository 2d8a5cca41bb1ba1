"""The house's shape, checked: views never commit, modules import in one direction, and the
import contracts of `make lint` hold (docs/architecture.md explains the layers)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
# The API's plumbing owns transactions of its own: stored replays, an error's rollback.
API_PLUMBING = {"auth.py", "idempotency.py", "openapi.py", "problems.py"}
# HTML views, and the API's resource modules.
VIEW_MODULES = sorted(
    p
    for p in (ROOT / "careteam").rglob("*.py")
    if p.name == "views.py"
    or p.name.endswith("_views.py")
    or ("api" in p.relative_to(ROOT).parts and p.name not in API_PLUMBING)
)


def _session_calls(path: Path, root: Path = ROOT) -> list[str]:
    """`<anything>.commit()` and `.rollback()` calls in a module, as `path:line: source`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"commit", "rollback"}
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_there_are_views_to_check():
    assert len(VIEW_MODULES) >= 25, VIEW_MODULES


@pytest.mark.parametrize("path", VIEW_MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_view_commits(path):
    """A view loads, calls a use case and renders; the use case owns the transaction."""
    assert _session_calls(path) == []


def test_the_commit_check_sees_a_commit(tmp_path):
    module = tmp_path / "views.py"
    module.write_text("from careteam.extensions import db\n\ndef v():\n    db.session.commit()\n")
    found = _session_calls(module, root=tmp_path)
    assert found == ["views.py:4: db.session.commit()"]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The modules of each import cycle: an import a -> b with a chain back from b to a."""
    cycles = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.add(tuple(sorted(back)))
    return sorted(list(cycle) for cycle in cycles)


def test_no_import_cycles_inside_careteam():
    """Function-level imports count too: a cycle hidden in a function is still a cycle."""
    graph = grimp.build_graph("careteam", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(name)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]


def test_the_import_contracts_hold():
    """The same check `make lint` runs (import-linter, contracts in pyproject.toml)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout and " KEPT" in result.stdout
