"""One container stack (bin/up --docker --simulated) for the health and log tests of a session,
with a freshness limit short enough to see the app turn unhealthy within a minute."""
from __future__ import annotations

import pytest

from tests.helpers.compose_stack import FRESHNESS, ComposeStack
from tests.helpers.stack import docker_unavailable, running


@pytest.fixture(scope="session")
def compose_stack(tmp_path_factory):
    if reason := docker_unavailable():
        pytest.skip(f"container stack skipped: {reason}")
    yield from running(ComposeStack(tmp_path_factory.mktemp("compose"), checks_freshness=f"{FRESHNESS}s"))
