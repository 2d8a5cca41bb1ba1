"""The layout of the tests themselves: no module imports a test module or a conftest.py
(shared pieces live in helper modules such as tests/helpers.py and tests/worlds.py),
conftest.py files hold fixtures and pytest hooks only, and a redirect is asserted on
where it leads (its Location), not only on its status."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SOURCES = sorted(TESTS.rglob("*.py"))
CONFTESTS = [path for path in SOURCES if path.name == "conftest.py"]


def _is_test_or_conftest(name: str) -> bool:
    return name == "conftest" or name.startswith("test_")


def _names_a_test_module(module: list[str]) -> bool:
    return module[:1] == ["tests"] and any(map(_is_test_or_conftest, module))


def _package_of(path: Path) -> list[str]:
    return list(path.relative_to(ROOT).parent.parts)


def forbidden_imports(source: str, package: list[str]) -> list[str]:
    """The imports in `source` (a module of `package`) that name a test module
    (test_*.py) or a conftest module, however spelled, at any depth of the code."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if _names_a_test_module(a.name.split("."))]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = [*base, *(node.module.split(".") if node.module else [])]
            if _names_a_test_module(module):
                found.append(".".join(module))
            elif module[:1] == ["tests"] and (ROOT.joinpath(*module) / "__init__.py").exists():
                # `from tests import test_alerts`: the names are the package's modules.
                found += [
                    ".".join([*module, a.name]) for a in node.names if _is_test_or_conftest(a.name)
                ]
    return found


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "fixture"


def public_helpers(source: str) -> list[str]:
    """Public functions and classes of a conftest.py that are neither fixtures nor
    pytest hooks (pytest_*)."""
    found = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        if node.name.startswith("_") or node.name.startswith("pytest_"):
            continue
        if isinstance(node, ast.ClassDef) or not any(map(_is_fixture, node.decorator_list)):
            found.append(node.name)
    return found


REDIRECTS = {301, 302, 303, 307, 308}


def _expects_a_redirect(node: ast.expr) -> bool:
    """`== 302`, `== (302 if ... else 404)`, `in (302, 303)`; not `in (200, 302)`."""
    if isinstance(node, ast.Constant):
        return node.value in REDIRECTS
    if isinstance(node, ast.IfExp):
        return _expects_a_redirect(node.body) or _expects_a_redirect(node.orelse)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
        return bool(values) and all(value in REDIRECTS for value in values)
    return False


def _checks_location(node: ast.AST, name: str) -> bool:
    mentions = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    location = any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.lower() == "location"
        for n in ast.walk(node)
    )
    return name in mentions and location


def redirects_without_location(source: str) -> list[int]:
    """Lines asserting a response's redirect status where no assertion of the same test
    (that one or a later one) checks that response's Location header."""
    found = []
    for func in ast.walk(ast.parse(source)):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        asserts = [n for n in ast.walk(func) if isinstance(n, ast.Assert)]
        for check in asserts:
            for compare in (n for n in ast.walk(check.test) if isinstance(n, ast.Compare)):
                left = compare.left
                if not (isinstance(left, ast.Attribute) and left.attr == "status_code"):
                    continue
                if not any(map(_expects_a_redirect, compare.comparators)):
                    continue
                name = left.value.id if isinstance(left.value, ast.Name) else None
                later = [a for a in asserts if a.lineno >= check.lineno]
                if name is None or not any(_checks_location(a, name) for a in later):
                    found.append(check.lineno)
    return sorted(set(found))


def test_the_checks_see_the_suite():
    assert len([p for p in SOURCES if p.name.startswith("test_")]) > 50
    assert {p.relative_to(TESTS).as_posix() for p in CONFTESTS} >= {
        "conftest.py",
        "e2e/conftest.py",
        "integration/conftest.py",
    }


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(TESTS).as_posix())
def test_no_module_imports_a_test_module_or_a_conftest(path):
    found = forbidden_imports(path.read_text(), _package_of(path))
    assert found == [], f"move what {found} share into a helper module (tests/helpers.py...)"


@pytest.mark.parametrize("path", CONFTESTS, ids=lambda p: p.relative_to(TESTS).as_posix())
def test_conftest_files_hold_fixtures_only(path):
    found = public_helpers(path.read_text())
    assert found == [], f"helpers in {path.name}: move {found} to a helper module"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(TESTS).as_posix())
def test_redirects_are_asserted_on_their_location(path):
    lines = redirects_without_location(path.read_text())
    assert lines == [], f"assert response.headers['Location'] too, at lines {lines}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def t(c):\n    assert c.get('/').status_code == 302", [2]),
        ("def t(c):\n    r = c.get('/')\n    assert r.status_code == 302", [3]),
        ("def t(c):\n    r = c.get('/')\n    assert r.status_code == (302 if x else 404)", [3]),
        ("def t(c):\n    r = c.get('/')\n    assert r.status_code in (302, 303)", [3]),
        (
            "def t(c):\n    r = c.get('/')\n    assert r.status_code == 302\n"
            "    assert c.get('/x').headers['Location'] == '/'",
            [3],
        ),
        (
            "def t(c):\n    r = c.get('/')\n    assert r.status_code == 302\n"
            "    x = 1\n    assert r.headers['Location'] == '/login'",
            [],
        ),
        (
            "def t(c):\n    r = c.get('/')\n"
            "    assert r.status_code == 302 and r.headers['Location'] == '/'",
            [],
        ),
        (
            "def t(c):\n    r = c.get('/')\n    assert r.status_code == 302\n"
            "    assert not r.headers['Location'].startswith('/login')",
            [],
        ),
        ("def t(c):\n    r = c.get('/')\n    assert r.status_code in (200, 302)", []),
        ("def t(c):\n    assert c.get('/').status_code == 200", []),
    ],
)
def test_the_redirect_check_needs_a_location_for_the_same_response(source, expected):
    assert redirects_without_location(source) == expected


@pytest.mark.parametrize(
    ("source", "package", "expected"),
    [
        ("from tests.test_alerts import team", ["tests"], ["tests.test_alerts"]),
        ("from tests import test_alerts as base", ["tests"], ["tests.test_alerts"]),
        ("import tests.test_goals", ["tests"], ["tests.test_goals"]),
        ("from tests.e2e.conftest import serve", ["tests", "e2e"], ["tests.e2e.conftest"]),
        (
            "from .conftest import CeleryLauncher",
            ["tests", "integration"],
            ["tests.integration.conftest"],
        ),
        ("from ..test_digests import note", ["tests", "integration"], ["tests.test_digests"]),
        ("def f():\n    from tests import conftest", ["tests"], ["tests.conftest"]),
        ("from tests.helpers import csrf_from", ["tests"], []),
        ("from tests.worlds import build_world", ["tests"], []),
        ("from tests import factories", ["tests"], []),
        ("from careteam.api import test_mode", ["tests"], []),
        ("import careteam.test_mode", ["tests"], []),
    ],
)
def test_the_import_check_catches_every_spelling(source, package, expected):
    assert forbidden_imports(source, package) == expected


def test_the_conftest_check_tells_fixtures_from_helpers():
    source = (
        "import pytest\n"
        "from pytest import fixture\n"
        "def pytest_addoption(parser): ...\n"
        "@pytest.fixture\ndef app(): ...\n"
        "@pytest.fixture(scope='session')\ndef db(): ...\n"
        "@fixture\ndef client(): ...\n"
        "def _private(): ...\n"
        "def csrf_from(html): ...\n"
        "class AuthActions: ...\n"
    )
    assert public_helpers(source) == ["csrf_from", "AuthActions"]
