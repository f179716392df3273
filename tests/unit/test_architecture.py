"""The layers drawn by the package tree hold: import-linter's contracts in setup.cfg (layers,
production code free of tools, no import cycle) are kept."""
from __future__ import annotations

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
