"""docker/compose.yml gives every service a health check, a restart policy, a memory limit and
rotated logs, and the app time enough to stop its programs in order."""
from __future__ import annotations

import configparser
import re

import pytest
import yaml

from tests.helpers.harness import PROJECT_DIR

SERVICES = yaml.safe_load((PROJECT_DIR / "docker" / "compose.yml").read_text())["services"]


def seconds(duration: str) -> int:
    return sum(int(n) * {"m": 60, "s": 1}[unit] for n, unit in re.findall(r"(\d+)([ms])", duration))


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_is_checked_limited_restarted_and_rotated(name) -> None:
    """A health check, unless-stopped, a memory limit and json-file logs capped in size and count."""
    service = SERVICES[name]
    assert service["healthcheck"]["test"][0] == "CMD"
    assert service["restart"] == "unless-stopped"
    assert service["mem_limit"]
    assert service["logging"]["driver"] == "json-file"
    assert set(service["logging"]["options"]) == {"max-size", "max-file"}


def test_the_apps_stop_grace_outlasts_supervisords_ordered_stop() -> None:
    """supervisord stops producer and processor one after the other, each up to its stopwaitsecs:
    docker stop must wait longer than both together before it kills them."""
    pipeline = configparser.RawConfigParser()
    pipeline.read(PROJECT_DIR / "conf" / "supervisor" / "pipeline.conf")
    stops = sum(pipeline.getint(section, "stopwaitsecs") for section in pipeline.sections())
    assert seconds(SERVICES["app"]["stop_grace_period"]) > stops
