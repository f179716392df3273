"""The stack's programs by the bare names operators type (bin/restart, bin/logs, bin/supervisorctl),
declared once here; conf/supervisord.conf, conf/supervisor/pipeline.conf and docker/compose.yml
spell the same names, and tests/unit/ops/test_programs.py checks that they agree."""
from __future__ import annotations

MYSQL, KAFKA = "mysql", "kafka"
PRODUCER, PROCESSOR = "producer", "processor"
EXCHANGE_SIM = "exchange-sim"  # the simulated exchange, only with bin/up --simulated
PROMETHEUS = "prometheus"  # scrapes both metrics endpoints, only with bin/up --with-prometheus
DASHBOARD = "dashboard"  # the live dashboard page (read-only), started by bin/up
SUPERVISORD = "supervisord"  # not a program, but it has a log of its own

INFRA = (KAFKA, MYSQL)  # supervisord's group infra; containers of their own in docker/compose.yml
PIPELINE = (PRODUCER, PROCESSOR)  # supervisord's group pipeline; inside the app container there
GROUPS = {**dict.fromkeys(INFRA, "infra"), **dict.fromkeys(PIPELINE, "pipeline")}
SUPERVISED = (*PIPELINE, *INFRA, DASHBOARD, EXCHANGE_SIM, PROMETHEUS)  # every program supervisord runs
OPTIONAL = (EXCHANGE_SIM, PROMETHEUS)  # stopped unless bin/up was asked for them: not a failure
RESTART_ORDER = (MYSQL, KAFKA, PROCESSOR, PRODUCER)  # dependencies first

APP = "app"  # the compose service running the pipeline under its own supervisord
IN_APP = (*PIPELINE, DASHBOARD)  # the programs of the app container's supervisord
COMPOSE_SERVICES = (*INFRA, APP)  # and EXCHANGE_SIM when simulated
