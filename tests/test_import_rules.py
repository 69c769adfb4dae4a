"""Package seams: views are leaves, and every module imports on its own (no import cycle)."""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dpa_tracker"
# The only modules that may import a views module: the ones that register blueprints.
REGISTRARS = {"dpa_tracker/__init__.py", "dpa_tracker/api/__init__.py"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_views(source: str, module: str) -> list[str]:
    """The views modules that ``source`` (the code of ``module``) imports, at any depth of the code."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [name for name in names if name.split(".")[-1] == "views"]
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "fonts" not in p.parts)


def test_no_module_imports_a_views_module_except_the_blueprint_registrars():
    offenders = {}
    for path in _modules():
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if relative in REGISTRARS:
            continue
        views = imported_views(path.read_text(encoding="utf-8"), _module_name(path))
        if views:
            offenders[relative] = views
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from dpa_tracker.record.views import render_record",
        "from dpa_tracker.record import views",
        "import dpa_tracker.evidence.views",
        "def f():\n    from dpa_tracker.subprocessor.views import subprocessor_rows\n",
        "from .views import bp",
        "from ..record.views import x",
    ],
)
def test_the_rule_catches_every_way_of_importing_a_views_module(source):
    assert imported_views(source, "dpa_tracker.obligation.services")


def test_the_rule_lets_services_and_models_be_imported():
    assert imported_views("from dpa_tracker.obligation.services import today\nimport dpa_tracker.models", "m.x") == []


def test_every_domain_package_imports_alone_in_a_fresh_interpreter():
    """A cycle hidden by import order (A imports B imports A) fails when a package is imported first: each
    domain package, with all its modules, is imported in an interpreter that has imported nothing else."""
    by_package: dict[str, list[str]] = {}
    for path in _modules():
        name = _module_name(path)
        top = ".".join(name.split(".")[:2])
        by_package.setdefault(top, []).append(name)

    def import_alone(package: str) -> tuple[str, str]:
        code = "\n".join(f"import {module}" for module in by_package[package])
        run = subprocess.run(
            [sys.executable, "-c", code], cwd=PACKAGE.parent, capture_output=True, text=True, timeout=120
        )
        return package, run.stderr.strip().splitlines()[-1] if run.returncode else ""

    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = {package: error for package, error in pool.map(import_alone, sorted(by_package)) if error}
    assert len(by_package) > 10  # the domain packages were found
    assert failures == {}


# --- the tests' own seams: shared helpers live in tests/support.py; conftest.py only holds fixtures ---

TESTS = Path(__file__).resolve().parent


def imports_conftest(source: str, module: str) -> list[str]:
    """The imports of a ``conftest`` module in ``source`` (the code of test module ``module``)."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [name for name in names if name.split(".")[-1] == "conftest"]
    return found


def test_no_test_module_imports_a_conftest():
    """Fixtures come in through pytest; helpers shared by several test modules come from tests/support.py."""
    offenders = {}
    for path in sorted(TESTS.rglob("*.py")):
        module = ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)
        found = imports_conftest(path.read_text(encoding="utf-8"), module)
        if found:
            offenders[path.relative_to(TESTS.parent).as_posix()] = found
    assert offenders == {}


@pytest.mark.parametrize(
    "source",
    [
        "from tests.conftest import PASSWORD",
        "import tests.conftest",
        "from tests import conftest",
        "from .conftest import make_app",
        "from ..conftest import empty_tables",
        "def f():\n    from tests.conftest import AuthActions\n",
    ],
)
def test_the_conftest_rule_catches_every_way_of_importing_it(source):
    assert imports_conftest(source, "tests.browser.test_flows")


def test_the_conftest_rule_lets_support_and_factories_be_imported():
    assert (
        imports_conftest("from tests.support import PASSWORD\nfrom tests.factories import make_user", "tests.x") == []
    )
