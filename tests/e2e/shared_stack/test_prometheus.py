"""bin/up --with-prometheus: a real Prometheus under supervisord scrapes both metrics endpoints and
evaluates conf/prometheus/rules.yml; stopping the processor fires its alert, starting it clears it."""
from __future__ import annotations

import json
import shutil

import pytest
import requests

from tests.helpers.stack import NativeStack
from tests.helpers.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not shutil.which("prometheus"),
                                                  reason="prometheus not installed (bin/test installs it as root)")]
DOWN = "CryptostreamProgramDown"


def api(stack: NativeStack, path: str, **params: str) -> dict | list:
    answer = requests.get(f"http://127.0.0.1:{stack.config.metrics.prometheus_port}/api/v1/{path}",
                          params=params, timeout=5)
    answer.raise_for_status()
    return answer.json()["data"]


def firing(stack: NativeStack, alert: str) -> list[dict]:
    return [a for a in api(stack, "alerts")["alerts"] if a["labels"]["alertname"] == alert and a["state"] == "firing"]


def test_prometheus_listens_on_loopback_and_scrapes_both_programs(stack) -> None:
    def healthy() -> list[dict]:
        return [t for t in api(stack, "targets")["activeTargets"] if t["health"] == "up"]
    targets = wait_until(lambda: len(healthy()) == 2 and healthy(), "both targets up", timeout=60, interval=1)
    assert {t["labels"]["job"] for t in targets} == {"cryptostream-producer", "cryptostream-processor"}
    assert all(t["scrapeUrl"].startswith("http://127.0.0.1:") for t in targets)
    rows = json.loads(stack.run("status", "--json").stdout)["results"]
    assert [r["detail"].split()[0] for r in rows if r["component"] == "prometheus"] == ["RUNNING"]
    batches = wait_until(lambda: api(stack, "query", query="cryptostream_batches_total")["result"],
                         "a scraped batch count", timeout=30, interval=1)
    assert float(batches[0]["value"][1]) > 0
    assert {r["metric"]["job"] for r in batches} == {"cryptostream-processor"}


def test_the_runbook_rules_are_loaded(stack) -> None:
    names = {rule["name"] for group in api(stack, "rules")["groups"] for rule in group["rules"]}
    assert {DOWN, "CryptostreamKafkaLagHigh", "CryptostreamNoBatch", "CryptostreamMySQLWriteFailures"} <= names
    assert not firing(stack, DOWN)


def test_a_stopped_processor_fires_its_alert_and_a_started_one_clears_it(stack) -> None:
    assert "stopped" in stack.ctl("stop", "processor")
    try:
        alerts = wait_until(lambda: firing(stack, DOWN), f"{DOWN} firing", timeout=120, interval=2)
    finally:
        stack.ctl("start", "processor")
    assert [a["labels"]["job"] for a in alerts] == ["cryptostream-processor"]
    assert alerts[0]["annotations"]["runbook_url"].endswith("#spark-job-failure")
    wait_until(lambda: not firing(stack, DOWN), f"{DOWN} cleared", timeout=180, interval=2)
