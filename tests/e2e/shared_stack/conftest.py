"""One native stack (FAST_STACK, with Prometheus where it is installed) for the modules of this
package: the dashboard, Prometheus and bin/restore tests, each of which leaves it running.
Starting and stopping a stack costs ~35 s; the package scope stops this one before the next
module starts a stack of its own. test_restore.py runs last (by name): its last test replaces
the live database with a backup."""
from __future__ import annotations

import shutil

import pytest

from tests.helpers.stack import FAST_STACK, NativeStack


@pytest.fixture(scope="package")
def stack(tmp_path_factory):
    own = NativeStack(tmp_path_factory.mktemp("shared"), **FAST_STACK)
    own.start()
    try:
        if shutil.which("prometheus"):
            result = own.run("up", "--simulated", "--with-prometheus", "--wait-rows", "0")
            assert result.returncode == 0, result.stdout + result.stderr
        yield own
    finally:
        own.stop()
