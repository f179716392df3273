"""conf/prometheus: Prometheus accepts the scrape configuration and the rules, each alert fires
past its threshold and stays silent below it (promtool test rules), and the thresholds and ports
are bin/check-alerts' and bin/daily-check's defaults."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from cryptostream.core.config import load

pytestmark = pytest.mark.unit
FOLDER = Path(__file__).resolve().parents[3] / "conf" / "prometheus"
PLAYBOOK = FOLDER.parents[1] / "docs" / "INCIDENT_PLAYBOOK.md"
# alert -> the [checks] setting its threshold equals
THRESHOLDS = {
    "CryptostreamKafkaLagHigh": "lag_warn", "CryptostreamKafkaLagCritical": "lag_fail",
    "CryptostreamBatchSlow": "batch_p95_warn", "CryptostreamBatchVerySlow": "batch_p95_fail",
    "CryptostreamExchangeFailureRate": "api_failure_rate_warn",
    "CryptostreamExchangeFailureRateCritical": "api_failure_rate_fail",
    "CryptostreamNoBatch": "freshness", "CryptostreamNoPublish": "freshness",
    "CryptostreamProcessorRestarts": "restarts_warn",
}


def rules() -> dict[str, dict]:
    document = yaml.safe_load((FOLDER / "rules.yml").read_text())
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


def promtool(*args: str) -> subprocess.CompletedProcess:
    if not shutil.which("promtool"):
        pytest.skip("promtool not installed (Debian package prometheus; bin/test installs it as root)")
    return subprocess.run(["promtool", *args], cwd=FOLDER, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args", [("check", "config", "prometheus.yml"), ("check", "rules", "rules.yml"),
                                  ("test", "rules", "rules_test.yml")], ids=" ".join)
def test_promtool_accepts(args: tuple[str, ...]) -> None:
    result = promtool(*args)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("alert", sorted(THRESHOLDS))
def test_threshold_is_the_checks_default(alert: str) -> None:
    limit = float(getattr(load(env={}).checks, THRESHOLDS[alert]))
    expression = rules()[alert]["expr"]
    assert float(re.findall(r">\s*([\d.]+)\s*$", expression.strip())[-1]) == limit, expression


def test_every_alert_is_tested_firing_and_has_a_playbook_link() -> None:
    tested = (FOLDER / "rules_test.yml").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", line[3:].strip().lower()).replace(" ", "-")
               for line in PLAYBOOK.read_text().splitlines() if line.startswith("## ")}
    for alert, rule in rules().items():
        assert f"alertname: {alert}\n        exp_alerts:\n          - exp_labels" in tested, alert
        link = rule["annotations"]["runbook_url"]
        assert link.split("#")[1] in anchors, link


def test_scrape_targets_are_the_default_metrics_ports() -> None:
    metrics = load(env={}).metrics
    document = yaml.safe_load((FOLDER / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in document["scrape_configs"]}
    assert targets == {"cryptostream-producer": [f"127.0.0.1:{metrics.producer_port}"],
                       "cryptostream-processor": [f"127.0.0.1:{metrics.processor_port}"]}
