"""The layers drawn by the package tree hold: import-linter's contracts in setup.cfg (layers,
production code free of tools, no import cycle) are kept; modules stay short; and the tests
share code only through tests/helpers/ and conftest.py fixtures."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.helpers.harness import PROJECT_DIR


def test_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache", "--config", str(PROJECT_DIR / "setup.cfg")],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"import contracts broken:\n{result.stdout[-3000:]}{result.stderr[-1000:]}"
    assert "0 broken" in result.stdout, result.stdout[-2000:]


MAX_LINES = 300


def test_every_module_stays_under_300_lines() -> None:
    """No module of the package grows past 300 lines (issue 13; since the config split, all of cryptostream/)."""
    package = PROJECT_DIR / "cryptostream"
    long = {str(path.relative_to(package)): lines for path in package.rglob("*.py")
            if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"


def imported_modules(tree: ast.Module, package: str) -> set[str]:
    """Every module an import statement names (at any depth), relative imports resolved
    against `package`; `from a import b` names both a and a.b, b may be a module."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_no_test_module_imports_another_test_module_or_a_conftest() -> None:
    """Tests share code through tests/helpers/ and fixtures through conftest.py files, never by
    importing a test module (its tests would run twice) or a conftest (loaded twice)."""
    tests = PROJECT_DIR / "tests"
    found = []
    for path in sorted(tests.rglob("*.py")):
        module = ".".join(path.relative_to(PROJECT_DIR).with_suffix("").parts)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for name in imported_modules(ast.parse(path.read_text(), str(path)), package):
            first, last = name.partition(".")[0], name.rpartition(".")[2]
            if (first == "tests" and (last.startswith("test_") or last == "conftest")) \
                    or first == "conftest" or first.startswith("test_"):  # the folder on sys.path (rootdir-less)
                found.append(f"{path.relative_to(PROJECT_DIR)} imports {name}")
    assert not found, "move what is shared into tests/helpers/ or a conftest.py:\n" + "\n".join(found)
