"""docker/compose.yml: valid, and `bin/up --docker --simulated` brings it up with local images."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from cryptostream.ops import programs
from cryptostream.ops.stack import containers
from tests.helpers.stack import NativeStack, docker_unavailable

pytestmark = [pytest.mark.e2e, pytest.mark.container]


def test_compose_file_is_valid(tmp_path) -> None:
    """compose resolves the file: every service, host networking, secrets from files."""
    if not shutil.which("docker-compose") and docker_unavailable():
        pytest.skip("no docker-compose or docker compose to validate with")
    stack = NativeStack(tmp_path)
    config = stack.config
    containers.container_secrets(config)
    resolved = subprocess.run(containers.compose_command("config"), env=containers.environment(config),
                              capture_output=True, text=True, check=True).stdout
    for service in ("kafka:", "mysql:", "app:", "exchange-sim:"):
        assert service in resolved
    assert resolved.count("network_mode: host") == 4
    assert "mysql:8.4" in resolved
    assert "apache/kafka" in resolved  # official images by default


def test_up_docker_gives_rows_and_the_commands_work_through_the_containers(compose_stack) -> None:
    """bin/up --docker --simulated (the package's stack, tests/e2e/container/conftest.py): rows for
    all symbols; supervisorctl, logs and restart work through the containers. That bin/down
    --docker --volumes leaves nothing behind is checked when the package stops the stack
    (ComposeStack.stop)."""
    stack = compose_stack
    for symbol in stack.config.exchange.symbols:
        assert symbol in stack.up_output
    status = stack.run("supervisorctl", "--docker", "status").stdout
    running = {line.split()[0] for line in status.splitlines() if "RUNNING" in line}
    assert running == set(programs.IN_APP), status  # producer, processor, dashboard
    lines = stack.run("logs", "--docker", "--no-follow", "app").stdout.splitlines()
    events = [json.loads(line) for line in lines if line.startswith("{")]
    assert {"producer", "processor"} <= {e.get("component") for e in events}
    for program in ("processor", "kafka"):
        restarted = stack.run("restart", "--docker", program, timeout=400)
        assert restarted.returncode == 0 and f"{program}: healthy again" in restarted.stdout, \
            restarted.stdout + restarted.stderr
