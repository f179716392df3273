"""Which stack a runbook command works on: --docker or --native, else the one that runs here
(the native supervisord answering on its socket, or the compose project's app container
running). Neither running is one clear line (check commands exit 3: they could not check)."""
from __future__ import annotations

import argparse

from cryptostream.core.config import Config
from cryptostream.ops.cli import CommandError, Unavailable
from cryptostream.ops.deployment.base import Deployment
from cryptostream.ops.deployment.container import ContainerDeployment
from cryptostream.ops.deployment.native import NativeDeployment

KINDS = {"native": NativeDeployment, "docker": ContainerDeployment}


def add_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """--docker / --native (one of them, or neither: detect), as args.deployment."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--docker", dest="deployment", action="store_const", const="docker",
                       help="the container stack (docker/compose.yml); default: whichever stack runs")
    group.add_argument("--native", dest="deployment", action="store_const", const="native",
                       help="the native stack (supervisord on this machine); default: whichever stack runs")
    return parser


def choose(config: Config, wanted: str | None = None) -> Deployment:
    """The deployment named by a flag, else the one running here."""
    if wanted is not None:
        return KINDS[wanted](config)
    candidates = [kind(config) for kind in KINDS.values()]
    running = [deployment for deployment in candidates if deployment.is_up()]
    if len(running) == 1:
        return running[0]
    if running:
        raise CommandError("both the native and the container stack are running; say which with --native or --docker")
    reasons = " and ".join(deployment.not_up() for deployment in candidates)
    raise Unavailable(f"no stack is running: {reasons}; start one with bin/up or bin/up --docker "
                      f"(or pass --native or --docker to check one anyway)")


def split_flags(argv: list[str]) -> tuple[str | None, list[str]]:
    """For commands that pass their other arguments through (bin/supervisorctl, bin/logs): the
    deployment flag, and the rest."""
    wanted = [arg.lstrip("-") for arg in argv if arg in ("--docker", "--native")]
    if len(wanted) > 1:
        raise CommandError("--docker and --native exclude each other; give one")
    return (wanted[0] if wanted else None), [arg for arg in argv if arg not in ("--docker", "--native")]
