"""The two ways the end-to-end tests run the real pipeline, behind one interface.

NativeStack     bin/up --simulated in a temporary CRYPTOSTREAM_HOME (supervisord with kafka,
                mysql, producer, processor, exchange-sim), bin/down at the end.
ContainerStack  testcontainers started from docker/compose.yml's own service definitions
                (resolved by `docker compose config`): kafka, mysql, exchange-sim and the app
                container whose supervisord runs producer and processor.
Both use free 127.0.0.1 ports and the same test settings (short windows); NativeStack is the
benchmark's harness (cryptostream/bench/stack.py) with the tests' additions.
"""
from __future__ import annotations


import os
import shutil
import subprocess
import time
from pathlib import Path

import mysql.connector
import pytest

from cryptostream.core import db
from cryptostream.bench.stack import OwnStack
from cryptostream.ops import programs
from cryptostream.ops.deployment import ContainerDeployment, Deployment, NativeDeployment
from cryptostream.ops.deployment.container import PROJECT_LABEL, SERVICE_LABEL

# The one set of fast settings every stack-starting test uses: 5-second windows, a 2-second
# watermark, the REST poller every 200 ms (read only by the REST source). Each module extends it.
FAST_STACK = {"processor_window": "5s", "processor_watermark": "2s", "exchange_poll_interval": "200ms",
              "stats_write_interval": "1s"}  # the producer's pipeline_stats, which daily-check reads


def docker_unavailable() -> str | None:
    """Why the container stack cannot run here, or None."""
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True) if shutil.which("docker") else None
    if probe is None:
        return "no docker client on PATH (bin/docker-engine installs and starts the engine)"
    return None if probe.returncode == 0 else f"no Docker engine answers: {probe.stderr.strip()[:200]}"


def running(stack: "NativeStack"):
    """For fixtures: start the stack, hand it out, always stop it (failures and Ctrl-C too)."""
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


# The params of a module fixture that runs its tests on both stacks; the container one is
# marked `container` and skipped where no Docker engine answers.
BOTH_STACKS = ["native", pytest.param("docker", marks=pytest.mark.container)]


def started(kind: str, home: Path, **settings: str):
    """For a fixture over BOTH_STACKS: the stack of that kind, started, handed out, stopped."""
    if kind == "docker" and (reason := docker_unavailable()):
        pytest.skip(f"container stack skipped: {reason}")
    yield from running((NativeStack if kind == "native" else ContainerStack)(home, **settings))


class NativeStack(OwnStack):
    """The benchmark's own-stack harness, with what the tests add: start/stop for fixtures
    and what a local attacker would try."""
    kind = "native"
    programs = ("infra:kafka", "infra:mysql", "pipeline:producer", "pipeline:processor")

    @property
    def deployment(self) -> Deployment:
        """The stack as the runbook commands see it (cryptostream/ops/deployment)."""
        return NativeDeployment(self.config)

    def start(self) -> None:
        self.up()

    def stop(self) -> None:
        self.down()

    def secrets(self) -> list[str]:
        return [p.read_text().strip() for p in (self.home / "secrets").glob("mysql-*password")]

    def kill_processor(self) -> int:
        """kill -9 the processor's process group (driver and Spark JVM), as a crash would."""
        pid = int(self.ctl("pid", "processor").strip())
        os.killpg(pid, 9)
        return pid

    # --- what a local attacker would try (tests/e2e/test_e2e.py, security) ---

    def mysql_accounts(self) -> set[tuple[str, str]]:
        connection = db.connect(self.config, admin=True, database=False)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT user, host FROM mysql.user")
                return {(user, host) for user, host in cursor.fetchall()}
        finally:
            connection.close()

    def passwordless_logins(self, user: str) -> dict[str, bool]:
        """Whether `user` gets in without a password, per way in."""
        port = self.config.mysql.port
        return {"tcp 127.0.0.1": _enters(host="127.0.0.1", port=port, user=user),
                "tcp ::1": _enters(host="::1", port=port, user=user),
                "socket": self._enters_by_socket(user)}

    def _enters_by_socket(self, user: str) -> bool:
        return _enters(unix_socket=str(db.admin_socket(self.config)), user=user)

    def into_outfile(self, target: str) -> dict[str, str]:
        """SELECT ... INTO OUTFILE as the administrator and as the application user."""
        return {who: _outfile(db.connect(self.config, admin=(who == "root"), database=False), target)
                for who in ("root", self.config.mysql.user)}

    def server_processes(self) -> list[tuple[int, int, str]]:
        """(uid, pid, command) of supervisord and every process below it."""
        root = int((self.home / "run" / "supervisord.pid").read_text())
        table = _process_table()
        pids, found = [root], []
        while pids:
            pid = pids.pop()
            if pid in table:
                found.append((table[pid][1], pid, table[pid][2]))
                pids.extend(child for child, (parent, _uid, _cmd) in table.items() if parent == pid)
        return found

    def process_texts(self) -> list[tuple[int, str, str]]:
        """Every command line of the machine, and the environment of each of the stack's processes."""
        texts = [(pid, "cmdline", cmd) for pid, (_parent, _uid, cmd) in _process_table().items()]
        for _uid, pid, _cmd in self.server_processes():
            try:
                texts.append((pid, "environ", Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")))
            except OSError:
                pass  # exited meanwhile
        return texts


def _enters(**where) -> bool:
    try:
        mysql.connector.connect(password="", connection_timeout=5, use_pure=True, **where).close()
    except mysql.connector.Error:
        return False
    return True


def _outfile(connection, target: str) -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'planted' INTO OUTFILE %s", (target,))
        return "written"
    except mysql.connector.Error as exc:
        return f"refused: {exc.msg}"
    finally:
        connection.close()


def _process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, real uid, command line) of every process now running."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # exited meanwhile
        table[int(entry.name)] = (int(status["PPid"]), int(status["Uid"].split()[0]), cmd)
    return table


class ContainerStack(NativeStack):
    kind = "docker"
    programs = ("producer", "processor")
    order = ("kafka", "mysql", "exchange-sim", "app")

    def __init__(self, home: Path, **settings: str) -> None:
        super().__init__(home, **settings)
        self.containers: dict[str, object] = {}
        # a compose project of its own: its containers carry compose's labels, so the runbook
        # commands (CRYPTOSTREAM_COMPOSE_PROJECT) find them as they find a `docker compose` stack
        self.project = f"cstest{os.getpid()}{''.join(c for c in home.name if c.isalnum())}".lower()
        self.env["CRYPTOSTREAM_COMPOSE_PROJECT"] = self.project

    @property
    def deployment(self) -> Deployment:
        return ContainerDeployment(self.config, self.project)

    def start(self) -> None:
        from cryptostream.ops.stack import containers
        config = self.config
        chosen = _built_images(config)
        containers.container_secrets(config)
        env = containers.environment(config, chosen, simulated=True)
        services = _resolved_services(containers.compose_command("config"), env)
        try:
            # the servers start together; the app waits until they are healthy, as compose's
            # depends_on makes it
            servers = [name for name in self.order if name != programs.APP]
            for group in (servers, [name for name in self.order if name not in servers]):
                for name in group:
                    self.containers[name] = _start_service(name, services[name], self.project)
                for name in group:
                    _wait_healthy(self.containers[name], services[name].get("healthcheck"))
            if programs.APP in self.order:  # a stack of some services only (e.g. MySQL) has no rows to wait for
                self._wait_for_rows()
        except BaseException:
            self.stop()
            raise

    def _wait_for_rows(self) -> None:
        from cryptostream.core.polling import wait_for
        from cryptostream.ops.stack.native import symbols_with_rows
        config = self.config
        wait_for("rows for every symbol", lambda: symbols_with_rows(config) >= set(config.exchange.symbols), 180, 2)

    def stop(self) -> None:
        for name in reversed(self.order):
            container = self.containers.pop(name, None)
            if container is not None:
                container.stop()

    def exec(self, *command: str) -> str:
        result = self.containers["app"].exec(list(command))
        return result.output.decode(errors="replace")

    def ctl(self, *args: str) -> str:
        return self.exec("supervisorctl", *args)

    def log(self, program: str) -> str:
        return "".join(line + "\n" for line in self.all_logs().splitlines() if f'"component": "{program}"' in line)

    def all_logs(self) -> str:
        out, err = self.containers["app"].get_logs()
        return (out + err).decode(errors="replace")

    def kill_processor(self) -> int:
        pid = int(self.ctl("pid", "processor").strip())
        self.exec("kill", "-9", "--", f"-{pid}")
        return pid

    def secrets(self) -> list[str]:
        return [p.read_text().strip() for p in (self.home / "secrets" / "container").glob("mysql-*password")]

    def _mysql_as_root(self, sql: str):
        """The mysql client inside the MySQL container as root; the password goes through the
        environment of that one command, read from the container's secret file."""
        script = 'MYSQL_PWD="$(cat /run/secrets/mysql_root_password)" exec mysql -uroot -N -B -e "$0"'
        return self.containers["mysql"].exec(["sh", "-c", script, sql])

    def mysql_accounts(self) -> set[tuple[str, str]]:
        result = self._mysql_as_root("SELECT user, host FROM mysql.user")
        assert result.exit_code == 0, result.output
        return {tuple(line.split("\t")) for line in result.output.decode().splitlines() if line}

    def _enters_by_socket(self, user: str) -> bool:
        return self.containers["mysql"].exec(["mysql", "-u", user, "--skip-password", "-e", "SELECT 1"]).exit_code == 0

    def into_outfile(self, target: str) -> dict[str, str]:
        as_root = self._mysql_as_root(f"SELECT 'planted' INTO OUTFILE '{target}'")
        config = self.config
        return {"root": "written" if as_root.exit_code == 0 else f"refused: {as_root.output.decode().strip()}",
                config.mysql.user: _outfile(db.connect(config, database=False), target)}

    def server_processes(self) -> list[tuple[int, int, str]]:
        """(uid, pid on this machine, command) of every process of every container."""
        found = []
        for container in self.containers.values():
            top = container.get_wrapped_container().top(ps_args="-o uid,pid,args")
            found.extend((int(row[0]), int(row[1]), row[2]) for row in top["Processes"])
        return found


_IMAGES: dict[str, str] = {}


def _built_images(config) -> dict[str, str]:
    """The local images, built once a test session (the code does not change while it runs)."""
    from cryptostream.ops.stack import images
    if not _IMAGES:
        _IMAGES.update(images.build_all(config, say=lambda m: None))
    return dict(_IMAGES)


def _resolved_services(command: list[str], env: dict[str, str]) -> dict:
    import yaml
    resolved = yaml.safe_load(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)
    secrets = {name: spec["file"] for name, spec in resolved.get("secrets", {}).items()}
    for service in resolved["services"].values():
        service["secret_files"] = {name: secrets[name] for name in _secret_names(service)}
    return resolved["services"]


def _secret_names(service: dict) -> list[str]:
    return [s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])]


def _start_service(name: str, spec: dict, project: str):
    """A testcontainers container for one compose service: host network, compose's labels, its
    environment, command, bind mounts and secrets; named volumes become container-local storage."""
    from testcontainers.core.container import DockerContainer
    container = DockerContainer(spec["image"]).with_kwargs(network_mode="host",
                                                           labels={PROJECT_LABEL: project, SERVICE_LABEL: name})
    container.with_envs(**{k: str(v) for k, v in (spec.get("environment") or {}).items()})
    if spec.get("command"):
        container.with_command(spec["command"])
    for volume in spec.get("volumes", []):
        source, target, mode = _bind_mount(volume)
        if source:
            container.with_volume_mapping(source, target, mode)
    for secret, path in spec["secret_files"].items():
        container.with_volume_mapping(path, f"/run/secrets/{secret}", "ro")
    return container.start()


def _bind_mount(volume) -> tuple[str | None, str, str]:
    if isinstance(volume, dict):
        if volume.get("type") != "bind":
            return None, volume["target"], "rw"
        return volume["source"], volume["target"], "ro" if volume.get("read_only") else "rw"
    parts = volume.split(":")
    source = parts[0] if parts[0].startswith("/") else None
    return source, parts[1], parts[2] if len(parts) > 2 else "rw"


def _wait_healthy(container, healthcheck: dict | None, timeout: float = 180) -> None:
    """Run the compose health check inside the container until it passes."""
    if not healthcheck:
        return
    test = healthcheck["test"]
    command = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
    deadline = time.monotonic() + timeout
    while container.exec(command).exit_code != 0:
        if time.monotonic() > deadline:
            out, err = container.get_logs()
            raise TimeoutError(f"{container.image} not healthy: {(out + err).decode(errors='replace')[-3000:]}")
        time.sleep(2)
