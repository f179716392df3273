"""Prometheus for bin/up --with-prometheus: scrapes the producer's and the processor's metrics
endpoints and evaluates the runbook's alerts (conf/prometheus/rules.yml), on 127.0.0.1 only.

Writes var/prometheus/prometheus.yml from conf/prometheus/prometheus.yml with this stack's
ports at every start, then becomes the Prometheus process (exec) so supervisord signals it."""
from __future__ import annotations

import os
import shutil
import sys

from cryptostream.core import config as config_module
from cryptostream.core import shipped_files
from cryptostream.core.config import Config

SHIPPED = shipped_files.CONF_DIR / "prometheus"
DEFAULT_PORTS = {"9101": "producer_port", "9102": "processor_port"}  # as in the shipped file
RETENTION = "15d"  # Prometheus is for watching and alerting; 30-day history is in pipeline_stats


def scrape_config(config: Config) -> str:
    """The shipped scrape configuration with this stack's metrics ports and the shipped rules."""
    text = (SHIPPED / "prometheus.yml").read_text()
    for default, setting in DEFAULT_PORTS.items():
        text = text.replace(f'"127.0.0.1:{default}"', f'"127.0.0.1:{getattr(config.metrics, setting)}"')
    return text.replace("  - rules.yml", f"  - {SHIPPED / 'rules.yml'}")


def command(config: Config) -> list[str]:
    home = config.var_dir / "prometheus"
    return [shutil.which("prometheus") or "prometheus",
            f"--config.file={home / 'prometheus.yml'}",
            f"--web.listen-address=127.0.0.1:{config.metrics.prometheus_port}",
            f"--storage.tsdb.path={home / 'data'}",
            f"--storage.tsdb.retention.time={RETENTION}",
            "--log.format=json"]


def main() -> int:
    config = config_module.load()
    if not shutil.which("prometheus"):
        print("error: prometheus is not installed (Debian: apt-get install prometheus)", file=sys.stderr)
        return 2
    home = config.var_dir / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    (home / "prometheus.yml").write_text(scrape_config(config))
    argv = command(config)
    sys.stdout.flush()
    os.execv(argv[0], argv)
    return 1
