"""bin/rebuild: recompute every window from the prices still in Kafka (after damage to MySQL).

Stops the processor, takes a backup of what there is, sets the checkpoint aside, empties the
tables made from Kafka (as the private instance's administrator; the statistics history in
pipeline_stats stays) and starts the processor, which then reads the topic from its earliest offset."""
from __future__ import annotations

import argparse
import sys
import time

from cryptostream.core import config as config_module
from cryptostream.ops import programs, supervisor
from cryptostream.ops.repair import backup
from cryptostream.ops.stack import provisioning
from cryptostream.ops import cli


def rebuild(config: config_module.Config) -> None:
    supervisor.ctl(config, "stop", programs.PROCESSOR)
    print(f"backup of the current tables: {backup.backup(config, keep=7)}")
    checkpoint = config.checkpoint_dir
    if checkpoint.exists():
        aside = checkpoint.with_name(f"{checkpoint.name}.before-rebuild-{int(time.time())}")
        checkpoint.rename(aside)
        print(f"checkpoint set aside: {aside}")
    provisioning.empty_tables(config)
    supervisor.ctl(config, "start", programs.PROCESSOR)
    print("processor started: it recomputes every window from the earliest offset in Kafka")


@cli.command()
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rebuild", description="Recompute all windows from Kafka.")
    parser.add_argument("--yes", action="store_true", help="confirm: the tables are emptied first")
    args = parser.parse_args(argv)
    config = config_module.load()
    if not args.yes:
        print(f"this empties {', '.join(provisioning.DERIVED_TABLES)} (after a backup) "
              "and recomputes them from Kafka; run again with --yes", file=sys.stderr)
        return 2
    if not config.mysql.private_instance:
        print("error: rebuild empties tables as the private instance's administrator; on an external "
              "server an administrator must empty them", file=sys.stderr)
        return 2
    rebuild(config)
    return 0
