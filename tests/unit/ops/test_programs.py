"""ops/programs.py is the one declaration of the program names: supervisord's configuration,
docker/compose.yml spell the same ones."""
from __future__ import annotations

import configparser

import yaml

from tests.helpers.harness import PROJECT_DIR
from cryptostream.ops import programs, supervisor


def supervisord_sections() -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.read([PROJECT_DIR / "conf" / "supervisord.conf",
                 *sorted((PROJECT_DIR / "conf" / "supervisor").glob("**/*.conf"))])
    return parser


def test_supervisord_runs_exactly_the_declared_programs_in_their_groups() -> None:
    """Every [program:x] is declared, and each group lists the programs GROUPS puts in it."""
    parser = supervisord_sections()
    declared = {s.split(":", 1)[1] for s in parser.sections() if s.startswith("program:")}
    assert declared == set(programs.SUPERVISED)
    for group in set(programs.GROUPS.values()):
        listed = set(parser.get(f"group:{group}", "programs").split(","))
        assert listed == {name for name, g in programs.GROUPS.items() if g == group}


def test_the_optional_programs_are_defined_apart() -> None:
    """exchange-sim and prometheus are defined in supervisor/optional only, which bin/up copies
    into the included run/supervisor.d when asked: a stack without them has none STOPPED."""
    optional = PROJECT_DIR / "conf" / "supervisor" / "optional"
    assert {path.stem for path in optional.glob("*.conf")} == set(programs.OPTIONAL)
    always = configparser.RawConfigParser(strict=False)
    always.read([PROJECT_DIR / "conf" / "supervisord.conf", *(PROJECT_DIR / "conf" / "supervisor").glob("*.conf")])
    assert not {f"program:{name}" for name in programs.OPTIONAL} & set(always.sections())
    assert "run/supervisor.d/*.conf" in always.get("include", "files")


def test_compose_has_a_service_for_each_container_we_start() -> None:
    assert supervisor.qualify(programs.PRODUCER) == "pipeline:producer", "bare names map to their group"
    services = yaml.safe_load((PROJECT_DIR / "docker" / "compose.yml").read_text())["services"]
    assert {*programs.COMPOSE_SERVICES, programs.EXCHANGE_SIM} <= set(services)


def test_the_statistics_name_the_pipeline_programs_alike() -> None:
    """pipeline_stats.program holds the names operators type (the production layer cannot import ops)."""
    from cryptostream.pipeline.stats import names
    assert (names.PRODUCER, names.PROCESSOR) == programs.PIPELINE
