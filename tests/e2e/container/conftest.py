"""One container stack (bin/up --docker --simulated) for the health and log tests of this
package, with a freshness limit short enough to see the app turn unhealthy within a minute. It
is stopped when the package's last test is done: a container stack left running would make the
runbook commands of the native tests after it find two stacks."""
from __future__ import annotations

import pytest

from tests.helpers.compose_stack import FRESHNESS, ComposeStack
from tests.helpers.stack import docker_unavailable, running


@pytest.fixture(scope="package")
def compose_stack(tmp_path_factory):
    if reason := docker_unavailable():
        pytest.skip(f"container stack skipped: {reason}")
    yield from running(ComposeStack(tmp_path_factory.mktemp("compose"), checks_freshness=f"{FRESHNESS}s"))
