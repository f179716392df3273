"""The container deployment's commands, built without a Docker engine: containers found by
compose labels, programs through the app's supervisorctl, services by docker itself, MySQL
tools inside the mysql container without a password on any command line."""
from __future__ import annotations

import subprocess

import pytest

from cryptostream.core.config import load
from cryptostream.ops.cli import Unavailable
from cryptostream.ops.deployment import ContainerDeployment, container
from cryptostream.ops.deployment.container import parse_status_line

IDS = {"app": "a" * 64, "kafka": "k" * 64, "mysql": "m" * 64}


class FakeDocker:
    """Answers `docker ps` by label and `docker inspect`; records every call."""

    def __init__(self, states: dict[str, str]) -> None:
        self.states = states  # service -> docker state
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        self.calls.append(args)
        if args[0] == "ps":
            service = next(a.split("=", 2)[2] for a in args if a.startswith(f"label={container.SERVICE_LABEL}="))
            out = IDS[service] if service in self.states else ""
        else:  # inspect
            service = next(s for s, i in IDS.items() if i == args[-1])
            out = f"{self.states[service]}|2|4242|2026-12-02T10:00:00.123Z"
        return subprocess.CompletedProcess(args, 0, out + "\n", "")


@pytest.fixture
def deployment(tmp_path, monkeypatch):
    fake = FakeDocker({"app": "running", "kafka": "exited", "mysql": "running"})
    monkeypatch.setattr(container, "docker", fake)
    made = ContainerDeployment(load(env={"CRYPTOSTREAM_HOME": str(tmp_path), "CRYPTOSTREAM_MYSQL_PORT": "3307"}),
                               project="proj")
    made.fake = fake
    return made


def test_containers_are_found_by_compose_labels(deployment) -> None:
    """docker ps filtered by the project's and the service's label, stopped containers too."""
    assert deployment.container("kafka") == IDS["kafka"]
    assert deployment.fake.calls[0] == ("ps", "-aq", "--filter", "label=com.docker.compose.project=proj",
                                        "--filter", "label=com.docker.compose.service=kafka")


def test_up_means_the_app_container_runs(deployment) -> None:
    assert deployment.is_up()
    deployment.fake.states["app"] = "exited"
    assert not deployment.is_up()
    assert "compose project proj" in deployment.not_up()


def test_pipeline_programs_are_controlled_inside_the_app(deployment) -> None:
    assert deployment.control_command("stop", "processor") == ["docker", "exec", IDS["app"], "supervisorctl",
                                                               "stop", "processor"]


@pytest.mark.parametrize("action", ["stop", "start", "restart"])
def test_kafka_and_mysql_are_containers_of_their_own(deployment, action) -> None:
    """Even a stopped container is found, so `start` can bring it back."""
    assert deployment.control_command(action, "kafka") == ["docker", action, IDS["kafka"]]
    assert deployment.control_command(action, "mysql") == ["docker", action, IDS["mysql"]]


def test_a_stopped_app_is_unavailable_naming_the_project(deployment) -> None:
    deployment.fake.states["app"] = "exited"
    with pytest.raises(Unavailable, match="app container of compose project proj is not running"):
        deployment.control_command("stop", "producer")


def test_service_states_read_like_supervisord(deployment) -> None:
    """A stopped container is STOPPED, a running one RUNNING, with its restart count."""
    stopped = deployment.service_state("kafka", IDS["kafka"])
    assert stopped["statename"] == "STOPPED"
    assert "2 restarts" in stopped["description"]
    assert deployment.service_state("mysql", IDS["mysql"])["statename"] == "RUNNING"


@pytest.mark.parametrize("admin,user_flag,secret", [(True, "--user=root", "mysql_root_password"),
                                                     (False, "--user=cryptostream", "mysql_password")])
def test_mysql_tools_run_in_the_mysql_container_without_a_password_argument(deployment, admin, user_flag,
                                                                             secret) -> None:
    command = deployment.mysql_tool("dump", admin=admin)
    assert command[:2] == ["docker", "exec"]
    assert IDS["mysql"] in command
    script = command[command.index("-c") + 1]
    assert f"/run/secrets/{secret}" in script
    assert "mariadb-dump" in script and "mysqldump" in script
    assert user_flag in script
    assert not [part for part in command if "password=" in part.lower()]


def test_the_app_user_connects_over_tcp_to_the_configured_port(deployment) -> None:
    command = deployment.mysql_tool("client", admin=False)
    script = command[command.index("-c") + 1]
    assert "--port=3307" in script and "--protocol=TCP" in script


def test_checkpoint_is_the_app_containers_volume(deployment) -> None:
    """The app's CRYPTOSTREAM_HOME is /var/lib/cryptostream; its checkpoint is named like ours."""
    name = deployment.config.processor.query_name
    assert str(deployment.checkpoint_dir()) == f"/var/lib/cryptostream/checkpoints/{name}"


def test_logs_of_pipeline_programs_come_from_the_app(deployment) -> None:
    """bin/logs --docker producer follows the app container and keeps the producer's lines only."""
    assert deployment.log_sources(["producer", "processor"], follow=True) == [
        ["docker", "logs", "--tail", "50", "-f", IDS["app"]]]
    assert deployment.shows(["producer"], '{"component": "producer", "event": "poll"}')
    assert not deployment.shows(["producer"], '{"component": "processor", "event": "batch"}')
    assert deployment.shows(["app"], "2026-12-02 10:00:00,000 WARN exited: processor (not expected)")


@pytest.mark.parametrize("line,expected", [
    ("processor                        RUNNING   pid 57, uptime 0:01:02", ("processor", "RUNNING", 57)),
    ("producer                         STOPPED   Dec 02 10:00 AM", ("producer", "STOPPED", 0)),
    ("pipeline:producer                RUNNING   pid 9, uptime 0:00:05", ("producer", "RUNNING", 9)),
])
def test_supervisorctl_status_lines(line, expected) -> None:
    name, info = parse_status_line(line)
    assert (name, info["statename"], info["pid"]) == expected


def test_other_supervisorctl_output_is_no_program() -> None:
    assert parse_status_line("unix:///run/cryptostream/supervisor.sock no such file") is None
    assert parse_status_line("") is None


def test_supervisorctl_of_a_service_acts_on_its_container(deployment) -> None:
    """bin/supervisorctl status kafka (the playbook's) answers from the container on this stack."""
    status = deployment.supervisorctl_command(["status", "kafka"])
    assert status[:4] == ["docker", "ps", "-a", "--filter"]
    assert status[4] == f"id={IDS['kafka']}"
    assert deployment.supervisorctl_command(["restart", "mysql"]) == ["docker", "restart", IDS["mysql"]]
    assert deployment.supervisorctl_command(["status"])[-2:] == ["supervisorctl", "status"]


def test_supervisord_lines_the_image_wrapped_as_json_still_count_as_exits() -> None:
    """docker/common/json-lines wraps supervisord's own lines; the exit is read from the text."""
    raw = "2026-12-02 10:00:01,123 WARN exited: processor (exit status 1; not expected)"
    wrapped = ('{"timestamp": "2026-12-02T10:00:01.123456Z", "level": "warning", "component": "supervisord", '
               '"event": "' + raw + '"}')
    assert container.wrapped_text(wrapped) == raw
    assert container.wrapped_text(raw) == raw
    assert container.wrapped_text('{"event": 3}') == '{"event": 3}'
    assert container.UNEXPECTED_EXIT.match(container.wrapped_text(wrapped)).group(2) == "processor"
