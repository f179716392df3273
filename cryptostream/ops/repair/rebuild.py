"""bin/rebuild: recompute every window from the prices still in Kafka (after damage to MySQL).

Stops the processor, takes a backup of what there is, sets the checkpoint aside, empties the
tables made from Kafka (as the stack's MySQL administrator; the statistics history in
pipeline_stats stays) and starts the processor, which then reads the topic from its earliest offset."""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from cryptostream.core import config as config_module
from cryptostream.ops import cli, deployment as deployments, programs
from cryptostream.ops.deployment import Deployment
from cryptostream.ops.repair import backup
from cryptostream.ops.stack import provisioning


def rebuild(deployment: Deployment) -> None:
    check(deployment.control("stop", programs.PROCESSOR))
    print(f"backup of the current tables: {backup.backup(deployment, keep=7)}")
    aside = deployment.set_checkpoint_aside(f".before-rebuild-{int(time.time())}")
    if aside:
        print(f"checkpoint set aside: {aside}")
    deployment.admin_sql(*provisioning.empty_statements(deployment.config))
    check(deployment.control("start", programs.PROCESSOR))
    print("processor started: it recomputes every window from the earliest offset in Kafka")


def check(result: subprocess.CompletedProcess) -> None:
    if result.returncode != 0:
        raise cli.CommandError(f"{' '.join(result.args[-2:])} failed: {cli.one_line(result.stdout + result.stderr)}")


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rebuild", description="Recompute all windows from Kafka.")
    parser.add_argument("--yes", action="store_true", help="confirm: the tables are emptied first")
    args = deployments.add_flags(parser).parse_args(argv)
    config = config_module.load()
    if not args.yes:
        print(f"this empties {', '.join(provisioning.DERIVED_TABLES)} (after a backup) "
              "and recomputes them from Kafka; run again with --yes", file=sys.stderr)
        return 2
    deployment = deployments.choose(config, args.deployment)
    if not deployment.can_admin:
        print("error: rebuild empties tables as the private instance's administrator; on an external "
              "server an administrator must empty them", file=sys.stderr)
        return 2
    rebuild(deployment)
    return 0
