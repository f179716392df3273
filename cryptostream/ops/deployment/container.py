"""The container stack (docker/compose.yml): kafka, mysql and exchange-sim are containers of their
own; producer and processor run under the app container's supervisord, whose output (theirs
and its own) is the app container's log; the checkpoint is a volume inside the app container;
MySQL's administrator is root through the mysql container's socket.

Containers are found by compose's labels (project and service), so a stack started by
`docker compose` and one started by the tests from the same service definitions are alike."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import PurePosixPath
from typing import Iterable

from cryptostream.ops import cli, programs
from cryptostream.ops.deployment.base import CONTROL_ACTIONS, UNEXPECTED_EXIT, Deployment, ProgramState, Usage
from cryptostream.ops.deployment.processes import host_pid, process_tree_usage

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
KAFKA_DATA = "/var/lib/kafka/data"  # KAFKA_LOG_DIRS in docker/compose.yml
APP_HOME = PurePosixPath("/var/lib/cryptostream")  # CRYPTOSTREAM_HOME in docker/app/Dockerfile
SERVICES = (*programs.INFRA, programs.APP, programs.EXCHANGE_SIM)
CONTAINER_PROGRAMS = (*programs.INFRA, programs.EXCHANGE_SIM)  # supervisord programs natively, containers here
# docker's container states in supervisord's words, so both stacks read alike
STATES = {"running": "RUNNING", "restarting": "BACKOFF", "paused": "STOPPED", "exited": "STOPPED",
          "created": "STOPPED", "dead": "FATAL", "removing": "STOPPING"}
# The mysql container's own client as root or the app user: the password is read from the
# container's secret file into MYSQL_PWD, so it is on no command line, here or there.
MYSQL_LOGIN = {
    True: 'MYSQL_PWD="$(cat /run/secrets/mysql_root_password)" exec "$(command -v {0} || command -v {1})" '
          '--user=root "$@"',
    False: 'MYSQL_PWD="$(cat /run/secrets/mysql_password)" exec "$(command -v {0} || command -v {1})" '
           '--protocol=TCP --host=127.0.0.1 --port={port} --user={user} "$@"',
}
SUPERVISOR_STATES = {"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN"}
TOOLS = {"client": ("mariadb", "mysql"), "dump": ("mariadb-dump", "mysqldump")}


def project_name() -> str:
    """The compose project: CRYPTOSTREAM_COMPOSE_PROJECT, else cryptostream."""
    return os.environ.get("CRYPTOSTREAM_COMPOSE_PROJECT", "cryptostream")


def docker(*args: str) -> subprocess.CompletedProcess:
    """The docker client, output captured; a missing client reads as nothing running."""
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True)
    except FileNotFoundError:
        return subprocess.CompletedProcess(["docker", *args], 127, "", "no docker client on PATH")


def since(hours: float) -> str:
    """docker logs --since for the last `hours`."""
    return f"{max(1, round(hours * 3600))}s"


class ContainerDeployment(Deployment):
    name, flag = "docker", "--docker"

    def __init__(self, config, project: str | None = None) -> None:
        super().__init__(config)
        self.project = project or project_name()

    # --- finding the containers ---

    def container(self, service: str) -> str | None:
        """The id of the service's container, running or not; None when there is none."""
        found = docker("ps", "-aq", "--filter", f"label={PROJECT_LABEL}={self.project}",
                       "--filter", f"label={SERVICE_LABEL}={service}").stdout.split()
        return found[0] if found else None

    def any_running(self) -> bool:
        """Whether any container of the project runs (its ports are then the stack's own)."""
        return bool(docker("ps", "-q", "--filter", f"label={PROJECT_LABEL}={self.project}").stdout.split())

    def state(self, container: str) -> tuple[str, int, int, str]:
        """(docker state, restarts by its policy, pid of its first process here, started at)."""
        fields = docker("inspect", "--format", "{{.State.Status}}|{{.RestartCount}}|{{.State.Pid}}|{{.State.StartedAt}}",
                        container).stdout.strip().split("|")
        if len(fields) != 4:
            return "removed", 0, 0, ""
        return fields[0], int(fields[1]), int(fields[2]), fields[3]

    def running(self, service: str) -> str:
        """The id of the service's running container; Unavailable (one line) when it does not run."""
        container = self.container(service)
        if container is None or self.state(container)[0] != "running":
            raise cli.Unavailable(f"the {service} container of compose project {self.project} is not running; "
                                  f"bin/up --docker starts the stack (docker ps -a shows what there is)")
        return container

    def exec_command(self, service: str, *command: str, stdin: bool = False, terminal: bool = False) -> list[str]:
        """docker exec in the service's running container: -i passes our stdin on, -t gives it a
        terminal (for people only: a terminal would mangle a dump piped through it)."""
        flags = [*(["-i"] if stdin or terminal else []), *(["-t"] if terminal else [])]
        return ["docker", "exec", *flags, self.running(service), *command]

    def exec(self, service: str, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.exec_command(service, *command), capture_output=True, text=True)

    # --- Deployment ---

    def is_up(self) -> bool:
        container = self.container(programs.APP)
        return container is not None and self.state(container)[0] == "running"

    def not_up(self) -> str:
        return f"no app container of compose project {self.project} runs (docker ps)"

    def program_states(self) -> dict[str, ProgramState]:
        states = self.supervised_states()
        for service in (*programs.INFRA, programs.EXCHANGE_SIM):
            container = self.container(service)
            if container is not None:
                states[service] = self.service_state(service, container)
        return states

    def supervised_states(self) -> dict[str, ProgramState]:
        """The app container's supervisord programs (supervisorctl status exits 3 when one is stopped)."""
        result = self.exec(programs.APP, "supervisorctl", "status")
        states = dict(parsed for parsed in map(parse_status_line, result.stdout.splitlines()) if parsed)
        if not states:
            raise cli.Unavailable(f"supervisord in the app container does not answer: "
                                  f"{cli.one_line(result.stdout + result.stderr)}; see bin/logs --docker app")
        return states

    def service_state(self, service: str, container: str) -> ProgramState:
        status, restarts, pid, started = self.state(container)
        return {"name": service, "statename": STATES.get(status, status.upper()), "pid": pid,
                "description": f"container {container[:12]} {status} since {started[:19]}, {restarts} restarts"}

    def unexpected_exits(self, hours: float = 24) -> dict[str, int]:
        """The app's supervisord logs each unexpected exit; a service container that died was
        restarted by its restart policy (its RestartCount, since it was created)."""
        counts: dict[str, int] = {}
        for line in self.service_lines(programs.APP, hours):
            match = UNEXPECTED_EXIT.match(wrapped_text(line))
            if match:
                counts[match.group(2)] = counts.get(match.group(2), 0) + 1
        for service in programs.INFRA:
            container = self.container(service)
            if container is not None:
                counts[service] = counts.get(service, 0) + self.state(container)[1]
        return counts

    def service_lines(self, service: str, hours: float) -> list[str]:
        """A container's output (stdout and stderr) of the last `hours`."""
        result = subprocess.run(["docker", "logs", "--since", since(hours), self.running(service)],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        return result.stdout.splitlines()

    def log_lines(self, program: str, hours: float) -> Iterable[str]:
        """An app program's lines are the app container's lines tagged with its component."""
        if program not in programs.IN_APP:
            return self.service_lines(program, hours)
        return [line for line in self.service_lines(programs.APP, hours) if self.shows([program], line)]

    def shows(self, names: list[str], line: str) -> bool:
        """The app's output interleaves its programs: an app program's own lines carry its
        component; asked for services (or a mix), every line."""
        if not set(names) <= set(programs.IN_APP):
            return True
        return any(f'"component": "{name}"' in line for name in names)

    def log_names(self) -> tuple[str, ...]:
        return (*SERVICES, *programs.IN_APP)

    def log_sources(self, names: list[str], follow: bool) -> list[list[str]]:
        services = dict.fromkeys(programs.APP if name in programs.IN_APP else name for name in names)
        return [["docker", "logs", "--tail", "50", *(["-f"] if follow else []), self.running(service)]
                for service in services]

    def checkpoint_dir(self) -> PurePosixPath:
        return APP_HOME / "checkpoints" / self.config.processor.query_name

    def checkpoint_batches(self, folder: str) -> list[int]:
        result = self.exec(programs.APP, "ls", "-1", str(self.checkpoint_dir() / folder))
        return [int(name) for name in result.stdout.split() if name.isdigit()]

    def checkpoint_text(self, relative: str) -> str | None:
        result = self.exec(programs.APP, "cat", str(self.checkpoint_dir() / relative))
        return result.stdout if result.returncode == 0 else None

    def set_checkpoint_aside(self, suffix: str) -> str | None:
        checkpoint = str(self.checkpoint_dir())
        result = self.exec(programs.APP, "sh", "-c", 'if [ -d "$0" ]; then mv "$0" "$1" && echo "$1"; fi',
                           checkpoint, checkpoint + suffix)
        if result.returncode != 0:
            raise cli.CommandError(f"could not set the checkpoint {checkpoint} aside in the app container: "
                                   f"{cli.one_line(result.stderr)}")
        return result.stdout.strip() or None

    def supervisorctl_command(self, args: list[str]) -> list[str]:
        """The app's supervisorctl; `status`, `start`, `stop` or `restart` of kafka, mysql or
        exchange-sim (supervisord programs natively, containers here) act on that container."""
        if len(args) == 2 and args[1] in CONTAINER_PROGRAMS and args[0] in (*CONTROL_ACTIONS, "status"):
            if args[0] != "status":
                return self.control_command(args[0], args[1])
            return ["docker", "ps", "-a", "--filter", f"id={self.existing(args[1])}",
                    "--format", f"{args[1]}\tcontainer {{{{.Status}}}}"]
        return self.exec_command(programs.APP, "supervisorctl", *args,
                                 terminal=sys.stdin.isatty() and sys.stdout.isatty())

    def control_command(self, action: str, program: str) -> list[str]:
        """App programs through the app's supervisord; the other services are containers."""
        if program in programs.IN_APP:
            return self.exec_command(programs.APP, "supervisorctl", action, program)
        return ["docker", action, self.existing(program)]

    def existing(self, service: str) -> str:
        """The id of the service's container, running or not; Unavailable when there is none."""
        container = self.container(service)
        if container is None:
            raise cli.Unavailable(f"compose project {self.project} has no {service} container; "
                                  f"bin/up --docker creates it")
        return container

    def runs(self, program: str) -> bool:
        return True  # compose runs Kafka and MySQL beside the app

    def usage(self) -> list[Usage]:
        """Each service container's process tree, and the app's programs inside it."""
        found: list[Usage] = []
        for service in (*programs.INFRA, programs.EXCHANGE_SIM):
            container = self.container(service)
            if container is not None:
                status, _restarts, pid, _started = self.state(container)
                found.append((service, STATES.get(status, status.upper()), *self.tree_usage(pid)))
        app_pid = self.state(self.running(programs.APP))[2]
        for name, info in self.supervised_states().items():
            pid = host_pid(app_pid, info["pid"]) if info["pid"] else None
            found.append((name, info["statename"], *self.tree_usage(pid)))
        return sorted(found)

    @staticmethod
    def tree_usage(pid: int | None) -> tuple[int, float]:
        return process_tree_usage(pid) if pid else (0, 0.0)

    def kafka_disk_bytes(self) -> int | None:
        """du inside the kafka container: its data is a volume there."""
        result = self.exec(programs.KAFKA, "du", "-sk", KAFKA_DATA)
        if result.returncode != 0:
            raise cli.CommandError(f"du {KAFKA_DATA} in the kafka container failed: {cli.one_line(result.stderr)}")
        return int(result.stdout.split()[0]) * 1024

    def mysql_tool(self, tool: str, admin: bool) -> list[str]:
        login = MYSQL_LOGIN[admin].format(*TOOLS[tool], port=self.config.mysql.port, user=self.config.mysql.user)
        return self.exec_command(programs.MYSQL, "sh", "-c", login, tool, stdin=tool == "client")

    @property
    def can_admin(self) -> bool:
        return True  # root in the mysql container, through its socket

    def require_mysql(self) -> None:
        self.running(programs.MYSQL)
        cli.require_mysql(self.config)


def parse_status_line(line: str) -> tuple[str, ProgramState] | None:
    """One line of `supervisorctl status` (name, state, "pid 57, uptime 0:01:02"); None for any
    other line, such as its complaint that supervisord does not answer."""
    words = line.split(None, 2)
    if len(words) < 2 or words[1] not in SUPERVISOR_STATES:
        return None
    name, state, description = words[0].split(":")[-1], words[1], (words[2] if len(words) > 2 else "").strip()
    pid = int(description.split(",")[0].split()[1]) if description.startswith("pid ") else 0
    return name, {"name": name, "statename": state, "description": description, "pid": pid}


def wrapped_text(line: str) -> str:
    """The original text of a line the image's json-lines filter wrapped (supervisord's own
    lines become {"timestamp", "level", "component", "event": <the line>}); others as they are."""
    try:
        event = json.loads(line)
    except ValueError:
        return line
    return event["event"] if isinstance(event, dict) and isinstance(event.get("event"), str) else line
