"""The container stack as bin/up --docker starts it (docker compose, Docker's own health checks),
in a temporary home under a compose project of its own, and what the container tests read
from it: each service's container, its health as Docker reports it, commands inside it."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cryptostream.ops.deployment import ContainerDeployment, Deployment
from tests.helpers.stack import FAST_STACK, NativeStack

SERVICES = ("kafka", "mysql", "app", "exchange-sim")
FRESHNESS = 20  # seconds: checks.freshness for the app's health check, short enough to see it fail


class ComposeStack(NativeStack):
    """bin/up --docker --simulated / bin/down --docker --volumes in `home`."""
    kind = "compose"

    def __init__(self, home: Path, **settings: str) -> None:
        super().__init__(home, **{**FAST_STACK, **settings})
        self.project = f"cs{home.name[-8:]}".lower().replace("_", "").replace("-", "")
        self.env["CRYPTOSTREAM_COMPOSE_PROJECT"] = self.project

    @property
    def deployment(self) -> Deployment:
        return ContainerDeployment(self.config, self.project)

    def start(self, source: str = "rest") -> None:
        """bin/up --docker --simulated with this exchange source; run again with another source,
        compose recreates the app (and the simulated exchange) with it."""
        started = self.run("up", "--docker", "--simulated", "--source", source, "--wait-rows", "240", timeout=1500)
        if started.returncode != 0:
            raise RuntimeError(f"bin/up --docker failed:\n{started.stdout[-3000:]}\n{started.stderr[-3000:]}")
        self.up_output = started.stdout

    def stop(self) -> None:
        """bin/down --docker --volumes, which must leave no container of the project behind."""
        stopped = self.run("down", "--docker", "--volumes", timeout=600)
        if stopped.returncode != 0:
            raise RuntimeError(f"bin/down --docker failed:\n{stopped.stdout[-2000:]}\n{stopped.stderr[-2000:]}")
        left = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}").split()
        if left:
            raise RuntimeError(f"bin/down --docker --volumes left containers {left} of project {self.project}")

    def container(self, service: str) -> str:
        """The id of the service's container in this project."""
        found = _docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}",
                        "--filter", f"label=com.docker.compose.service={service}").split()
        assert len(found) == 1, f"{service}: containers {found} in project {self.project}"
        return found[0]

    def inspect(self, service: str) -> dict:
        return json.loads(_docker("inspect", self.container(service)))[0]

    def health(self, service: str) -> str:
        """Docker's health status of the service: starting, healthy or unhealthy."""
        return self.inspect(service)["State"]["Health"]["Status"]

    def health_log(self, service: str) -> str:
        """The output of the service's newest health checks."""
        return "\n".join(entry["Output"].strip() for entry in self.inspect(service)["State"]["Health"]["Log"])

    def exec(self, service: str, *command: str, user: str | None = None) -> subprocess.CompletedProcess:
        as_user = ["--user", user] if user else []
        return subprocess.run(["docker", "exec", *as_user, self.container(service), *command],
                              capture_output=True, text=True, timeout=120)

    def healthcheck(self, service: str) -> subprocess.CompletedProcess:
        """The service's health check command, exactly as compose configured it, run once now."""
        test = self.inspect(service)["Config"]["Healthcheck"]["Test"]
        command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
        return self.exec(service, *command)

    def log(self, program: str) -> str:
        """The lines of one program (producer, processor) in the app container's output."""
        logged = subprocess.run(["docker", "logs", self.container("app")], capture_output=True, text=True)
        return "".join(line + "\n" for line in (logged.stdout + logged.stderr).splitlines()
                       if f'"component": "{program}"' in line)

    def ctl(self, *args: str) -> str:
        result = self.exec("app", "supervisorctl", *args)
        return result.stdout + result.stderr

    def mysql_as_root(self, sql: str) -> subprocess.CompletedProcess:
        """The mysql client in the MySQL container as root; the password goes through the
        environment of that one command, read from the container's secret file."""
        script = 'MYSQL_PWD="$(cat /run/secrets/mysql_root_password)" exec mysql -uroot -N -B -e "$0"'
        return self.exec("mysql", "sh", "-c", script, sql)


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout
