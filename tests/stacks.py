"""The two ways the end-to-end tests run the real pipeline, behind one interface.

NativeStack     bin/up --simulated in a temporary CRYPTOSTREAM_HOME (supervisord with kafka,
                mysql, producer, processor, exchange-sim), bin/down at the end.
ContainerStack  testcontainers started from docker/compose.yml's own service definitions
                (resolved by `docker compose config`): kafka, mysql, exchange-sim and the app
                container whose supervisord runs producer and processor.
Both use free 127.0.0.1 ports and the same test settings (short windows).
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from cryptostream.config import PROJECT_DIR, Config, load
from cryptostream.bench.stack import environment

BIN = PROJECT_DIR / "bin"


def running(stack: "NativeStack"):
    """For fixtures: start the stack, hand it out, always stop it (failures and Ctrl-C too)."""
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


class NativeStack:
    kind = "native"
    programs = ("infra:kafka", "infra:mysql", "pipeline:producer", "pipeline:processor")

    def __init__(self, home: Path, **settings: str) -> None:
        self.home = home
        self.env = environment(home, **settings)

    @property
    def config(self) -> Config:
        return load(env=self.env)

    def run(self, command: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([str(BIN / command), *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def start(self) -> None:
        started = self.run("up", "--simulated", "--wait-rows", "180", timeout=900)
        assert started.returncode == 0, f"bin/up failed:\n{started.stdout}\n{started.stderr}\n" \
                                        f"{self.log('processor')[-3000:]}"

    def stop(self) -> None:
        stopped = self.run("down", timeout=300)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr

    def ctl(self, *args: str) -> str:
        result = self.run("supervisorctl", *args)
        return result.stdout + result.stderr

    def log(self, program: str) -> str:
        """Everything the program logged in this run."""
        path = self.home / "log" / f"{program}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def all_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.home / "log").glob("*.log"))

    def secrets(self) -> list[str]:
        return [p.read_text().strip() for p in (self.home / "secrets").glob("mysql-*password")]

    def kill_processor(self) -> int:
        """kill -9 the processor's process group (driver and Spark JVM), as a crash would."""
        pid = int(self.ctl("pid", "processor").strip())
        os.killpg(pid, 9)
        return pid


class ContainerStack(NativeStack):
    kind = "docker"
    programs = ("producer", "processor")
    order = ("kafka", "mysql", "exchange-sim", "app")

    def __init__(self, home: Path, **settings: str) -> None:
        super().__init__(home, **settings)
        self.containers: dict[str, object] = {}

    def start(self) -> None:
        from cryptostream.ops import docker_stack, images
        config = self.config
        chosen = images.build_all(config, say=lambda m: None)
        docker_stack.container_secrets(config)
        env = docker_stack.environment(config, chosen, simulated=True)
        services = _resolved_services(docker_stack.compose_command("config"), env)
        try:
            for name in self.order:
                self.containers[name] = _start_service(name, services[name])
                _wait_healthy(self.containers[name], services[name].get("healthcheck"))
            self._wait_for_rows()
        except BaseException:
            self.stop()
            raise

    def _wait_for_rows(self) -> None:
        from cryptostream.ops.stack import symbols_with_rows, wait_for
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


def _resolved_services(command: list[str], env: dict[str, str]) -> dict:
    import yaml
    resolved = yaml.safe_load(subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout)
    secrets = {name: spec["file"] for name, spec in resolved.get("secrets", {}).items()}
    for service in resolved["services"].values():
        service["secret_files"] = {name: secrets[name] for name in _secret_names(service)}
    return resolved["services"]


def _secret_names(service: dict) -> list[str]:
    return [s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])]


def _start_service(name: str, spec: dict):
    """A testcontainers container for one compose service: host network, its environment,
    command, bind mounts and secrets; named volumes become container-local storage."""
    from testcontainers.core.container import DockerContainer
    container = DockerContainer(spec["image"]).with_kwargs(network_mode="host")
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
