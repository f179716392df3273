"""The container stack's health checks mean "working": every service turns healthy; the app
turns unhealthy when its processor stops making progress while its processes stay alive, and
healthy again when it resumes; MySQL's check fails when the app user cannot query; compose
sets restart policies, memory limits and log rotation on every container."""
from __future__ import annotations

import re
import time

import pytest

from tests.helpers.compose_stack import FRESHNESS, SERVICES
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.container]
INTERVAL, RETRIES = 10, 3  # the app's healthcheck in docker/compose.yml
# stalled -> unhealthy: the freshness limit, then up to RETRIES failing checks an INTERVAL apart
UNHEALTHY_WITHIN = FRESHNESS + (RETRIES + 1) * INTERVAL + 15


def test_every_service_turns_healthy(compose_stack) -> None:
    """kafka, mysql, app and exchange-sim all report healthy once the pipeline writes rows."""
    for service in SERVICES:
        wait_until(lambda s=service: compose_stack.health(s) == "healthy", f"{service} healthy", 240, 2)
    assert "producer and processor RUNNING" in compose_stack.health_log("app")


def test_app_unhealthy_while_the_processor_is_frozen_then_healthy_again(compose_stack) -> None:
    """SIGSTOP of the processor's process group (driver and Spark JVM) freezes its commits while
    supervisord still sees it RUNNING: the app turns unhealthy in time; SIGCONT heals it."""
    wait_until(lambda: compose_stack.health("app") == "healthy", "app healthy", 240, 2)
    group = compose_stack.ctl("pid", "processor").strip()
    assert compose_stack.exec("app", "kill", "-STOP", "--", f"-{group}").returncode == 0
    try:
        frozen = time.monotonic()
        wait_until(lambda: compose_stack.health("app") == "unhealthy", "app unhealthy", UNHEALTHY_WITHIN, 2)
        assert time.monotonic() - frozen >= FRESHNESS - INTERVAL, "unhealthy before the freshness limit"
        assert "no micro-batch committed for" in compose_stack.health_log("app")
        assert re.search(r"processor\s+RUNNING", compose_stack.ctl("status", "processor"))
    finally:
        compose_stack.exec("app", "kill", "-CONT", "--", f"-{group}")
    wait_until(lambda: compose_stack.health("app") == "healthy", "app healthy again", 120, 2)


def test_mysql_check_fails_when_the_app_user_cannot_query(compose_stack) -> None:
    """With the application user's account locked, MySQL's health check fails; unlocked, it passes."""
    user = compose_stack.config.mysql.user
    assert compose_stack.healthcheck("mysql").returncode == 0
    assert compose_stack.mysql_as_root(f"ALTER USER '{user}'@'%' ACCOUNT LOCK").returncode == 0
    try:
        locked = compose_stack.healthcheck("mysql")
    finally:
        compose_stack.mysql_as_root(f"ALTER USER '{user}'@'%' ACCOUNT UNLOCK")
    assert locked.returncode != 0
    assert compose_stack.healthcheck("mysql").returncode == 0


@pytest.mark.parametrize("service", SERVICES)
def test_compose_limits_restarts_and_rotates_logs(compose_stack, service) -> None:
    """Each container restarts unless stopped, has a memory limit and rotated json-file logs."""
    host = compose_stack.inspect(service)["HostConfig"]
    assert host["RestartPolicy"]["Name"] == "unless-stopped"
    assert host["Memory"] > 0
    assert host["LogConfig"]["Type"] == "json-file"
    assert host["LogConfig"]["Config"]["max-size"] == "20m"

