"""choice: --docker / --native pick a stack; without a flag the one running here; neither or both
running is one clear error."""
from __future__ import annotations

import argparse

import pytest

from cryptostream.core.config import load
from cryptostream.ops.cli import CommandError, Unavailable
from cryptostream.ops.deployment import ContainerDeployment, NativeDeployment, add_flags, choose, split_flags


@pytest.fixture
def config(tmp_path):
    return load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})


def running(monkeypatch, native: bool, docker: bool) -> None:
    monkeypatch.setattr(NativeDeployment, "is_up", lambda self: native)
    monkeypatch.setattr(ContainerDeployment, "is_up", lambda self: docker)


@pytest.mark.parametrize("flag,kind", [("docker", ContainerDeployment), ("native", NativeDeployment)])
def test_a_flag_decides_without_looking(monkeypatch, config, flag, kind) -> None:
    """--docker / --native choose that stack even when it is not the one running."""
    running(monkeypatch, native=flag == "docker", docker=flag == "native")
    assert isinstance(choose(config, flag), kind)


@pytest.mark.parametrize("native,docker,kind", [(True, False, NativeDeployment), (False, True, ContainerDeployment)])
def test_without_a_flag_the_running_stack(monkeypatch, config, native, docker, kind) -> None:
    """No flag: whichever stack answers here."""
    running(monkeypatch, native, docker)
    assert isinstance(choose(config), kind)


def test_neither_running_is_one_line_naming_both_places(monkeypatch, config) -> None:
    """Nothing runs: Unavailable naming the native socket and the compose project, and what to do."""
    running(monkeypatch, False, False)
    with pytest.raises(Unavailable) as raised:
        choose(config)
    message = str(raised.value)
    assert "supervisor.sock" in message
    assert "compose project cryptostream" in message
    assert "bin/up --docker" in message
    assert "\n" not in message


def test_both_running_asks_for_a_flag(monkeypatch, config) -> None:
    """Both stacks up (they would share ports): the operator must say which."""
    running(monkeypatch, True, True)
    with pytest.raises(CommandError, match="--native or --docker"):
        choose(config)


def test_the_compose_project_comes_from_the_environment(monkeypatch, config) -> None:
    monkeypatch.setenv("CRYPTOSTREAM_COMPOSE_PROJECT", "mine")
    assert ContainerDeployment(config).project == "mine"


@pytest.mark.parametrize("argv,expected", [([], None), (["--docker"], "docker"), (["--native", "--json"], "native")])
def test_add_flags_sets_deployment(argv, expected) -> None:
    parser = add_flags(argparse.ArgumentParser())
    parser.add_argument("--json", action="store_true")
    assert parser.parse_args(argv).deployment == expected


def test_add_flags_rejects_both() -> None:
    with pytest.raises(SystemExit):
        add_flags(argparse.ArgumentParser()).parse_args(["--docker", "--native"])


def test_split_flags_leaves_the_rest_in_order() -> None:
    """bin/supervisorctl and bin/logs pass their other arguments through untouched."""
    assert split_flags(["restart", "--docker", "processor"]) == ("docker", ["restart", "processor"])
    assert split_flags(["status"]) == (None, ["status"])
    with pytest.raises(CommandError):
        split_flags(["--docker", "--native"])
