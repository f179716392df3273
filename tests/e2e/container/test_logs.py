"""Every container's output is JSON lines, the JVMs' (Kafka, Spark in the app) and MariaDB's
included, so `bin/logs --docker SERVICE | jq` works for each service. Read with `docker logs`
(all of it, stdout and stderr), which bin/logs --docker shows."""
from __future__ import annotations

import json
import subprocess

import pytest

from tests.helpers.compose_stack import SERVICES

pytestmark = [pytest.mark.e2e, pytest.mark.container]


def log_lines(compose_stack, service: str) -> list[str]:
    logged = subprocess.run(["docker", "logs", compose_stack.container(service)], capture_output=True, text=True,
                            timeout=120)
    assert logged.returncode == 0, logged.stderr
    return [line for line in (logged.stdout + logged.stderr).splitlines() if line.strip()]


def parsed(line: str) -> dict | None:
    try:
        value = json.loads(line)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@pytest.mark.parametrize("service", SERVICES)
def test_every_line_is_a_json_object_with_time_level_and_event(compose_stack, service) -> None:
    """docker logs SERVICE: each line one JSON object with timestamp, level and event."""
    lines = log_lines(compose_stack, service)
    assert lines, f"{service} logged nothing"
    objects = [parsed(line) for line in lines]
    not_json = [line for line, value in zip(lines, objects) if value is None]
    assert not not_json, f"{service}: {len(not_json)} lines are not JSON objects, e.g. {not_json[:3]}"
    incomplete = [value for value in objects if not {"timestamp", "level", "event"} <= set(value)]
    assert not incomplete, f"{service}: lines without timestamp/level/event, e.g. {incomplete[:3]}"


def test_the_apps_log_holds_both_programs(compose_stack) -> None:
    """The app container's output carries the producer's and the processor's lines."""
    components = {parsed(line).get("component") for line in log_lines(compose_stack, "app")}
    assert {"producer", "processor"} <= components
