"""docker/grafana: the dashboard JSON for Grafana users is valid, queries only metrics the programs
export and only the range shown, uses the provisioned data sources, and keeps [checks]' thresholds.
(Grafana itself cannot run here; this is what can be checked without it.)"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from cryptostream.core import metrics
from cryptostream.core.config import load

pytestmark = pytest.mark.unit
DOCKER = Path(__file__).resolve().parents[3] / "docker"
DASHBOARD = json.loads((DOCKER / "grafana" / "dashboards" / "cryptostream.json").read_text())
PANELS = {panel["id"]: panel for panel in DASHBOARD["panels"]}


def exported() -> set[str]:
    """Every series name the two endpoints can show, histogram and counter suffixes included."""
    names = set()
    for registry in (metrics.PRODUCER_REGISTRY, metrics.PROCESSOR_REGISTRY):
        for family in registry.collect():
            names |= {sample.name for sample in family.samples} | {family.name}
            names |= {f"{family.name}{suffix}" for suffix in ("_bucket", "_sum", "_count", "_total")}
    return names


def test_every_metric_queried_is_one_a_program_exports() -> None:
    queried = {name for panel in PANELS.values() for target in panel["targets"]
               for name in re.findall(r"cryptostream_\w+", target.get("expr", ""))}
    assert queried
    assert queried <= exported(), queried - exported()


def test_every_panel_uses_a_provisioned_data_source() -> None:
    provisioned = yaml.safe_load((DOCKER / "grafana" / "provisioning" / "datasources" / "cryptostream.yml").read_text())
    uids = {source["uid"] for source in provisioned["datasources"]}
    for panel in PANELS.values():
        assert panel["datasource"]["uid"] in uids, panel["title"]
        assert all(target["datasource"]["uid"] in uids for target in panel["targets"])
    mysql = [s for s in provisioned["datasources"] if s["type"] == "mysql"][0]
    assert mysql["user"] == load(env={}).dashboard.user  # the SELECT-only account


def test_candles_read_only_the_range_shown() -> None:
    sql = [t["rawSql"] for p in PANELS.values() if p["type"] == "candlestick" for t in p["targets"]]
    assert sql
    assert all("$__timeFilter(start_time)" in s for s in sql)
    assert all(s.lstrip().upper().startswith("SELECT") for s in sql)


def test_thresholds_are_the_checks_defaults() -> None:
    checks = load(env={}).checks
    def steps(title_start: str) -> list[float]:
        panel = next(p for p in PANELS.values() if p["title"].startswith(title_start))
        return [s["value"] for s in panel["fieldConfig"]["defaults"]["thresholds"]["steps"][1:]]
    assert steps("Kafka lag") == [checks.lag_warn, checks.lag_fail]
    assert steps("Micro-batch duration p95") == [checks.batch_p95_warn, checks.batch_p95_fail]
    assert steps("Last batch age") == [checks.freshness]
    assert steps("Last publish age") == [checks.freshness]


def test_monitoring_services_stay_on_loopback() -> None:
    compose = yaml.safe_load((DOCKER / "compose.monitoring.yml").read_text())
    for name, service in compose["services"].items():
        assert service["network_mode"] == "host", name
    assert "--web.listen-address=127.0.0.1:" in " ".join(compose["services"]["prometheus"]["command"])
    assert compose["services"]["grafana"]["environment"]["GF_SERVER_HTTP_ADDR"] == "127.0.0.1"
