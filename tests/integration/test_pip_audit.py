"""The installed packages against PyPI's advisory data (the security checks that need no network
are in tests/unit/test_security.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.harness import PROJECT_DIR


@pytest.mark.integration  # asks PyPI's advisory service
def test_pip_audit_finds_no_known_vulnerability() -> None:
    """pip-audit (PyPI's advisory data) finds no known vulnerability in the installed packages,
    except those listed with a reason in .ci/pip-audit-ignore."""
    accepted = [line.split()[0] for line in (PROJECT_DIR / ".ci" / "pip-audit-ignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    audit = Path(sys.executable).parent / "pip-audit"
    result = subprocess.run([str(audit), "--local", "--progress-spinner", "off", "--format", "json",
                             *[arg for vuln in accepted for arg in ("--ignore-vuln", vuln)]],
                            capture_output=True, text=True, timeout=600)
    report = json.loads(result.stdout or "{}")
    found = [f"{d['name']} {d['version']}: {v['id']} (fix: {v.get('fix_versions')})"
             for d in report.get("dependencies", []) for v in d.get("vulns", [])]
    assert result.returncode == 0 and not found, found or result.stderr[-2000:]
    assert len(report["dependencies"]) > 20  # it did look at the environment
