"""bin/up --docker, bin/down --docker and friends: the container stack of docker/compose.yml."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from cryptostream.core import shipped_files
from cryptostream.core.config import Config
from cryptostream.core.polling import wait_for
from cryptostream.ops import programs
from cryptostream.ops.deployment.container import project_name
from cryptostream.ops.stack import images, secrets

OFFICIAL = {"kafka": "apache/kafka:4.4.0", "mysql": "mysql:8.4"}


def compose_file() -> Path:
    return shipped_files.checkout("the container stack (--docker)") / "docker" / "compose.yml"


def compose_command(*args: str) -> list[str]:
    """docker compose (v2) where present, else docker-compose (v1), on our compose file."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        base = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        base = ["docker-compose"]
    else:
        raise FileNotFoundError("neither `docker compose` nor docker-compose found: run bin/docker-engine")
    return [*base, "-p", project_name(), "-f", str(compose_file()), "--profile", "simulated", *args]


def container_secrets(config: Config) -> Path:
    """Copies of the dev passwords that a container's own user can read (mode 0644), in a
    0700 folder: bind-mounted secrets keep their host owner and mode."""
    secrets.ensure(config)
    folder = config.secrets_dir / "container"
    folder.mkdir(mode=0o700, exist_ok=True)
    for name in secrets.FILES:
        target = folder / name
        target.write_text((config.secrets_dir / name).read_text())
        target.chmod(0o644)
    return folder


def choose_images(config: Config, say) -> dict[str, str]:
    """Official images where present or pullable; otherwise build the local equivalents."""
    chosen = {}
    for service, image in OFFICIAL.items():
        if images.exists(image) or _pull(image):
            chosen[service] = image
    if len(chosen) < len(OFFICIAL) or not images.exists(images.LOCAL_IMAGES["app"]):
        say("no registry for the official images: building local equivalents")
        built = images.build_all(config, say)
        chosen = {service: chosen.get(service, built[service]) for service in built}
    chosen.setdefault("app", images.LOCAL_IMAGES["app"])
    return chosen


def _pull(image: str) -> bool:
    try:
        return subprocess.run(["docker", "pull", "-q", image], capture_output=True, timeout=120).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def environment(config: Config, chosen: dict[str, str] | None = None, simulated: bool = False) -> dict[str, str]:
    """What compose.yml reads: ports, images, secrets folder, pipeline settings from the config."""
    env = dict(os.environ)
    env.update({
        "CRYPTOSTREAM_KAFKA_PORT": str(config.kafka.port),
        "CRYPTOSTREAM_KAFKA_CONTROLLER_PORT": str(config.kafka.controller_port),
        "CRYPTOSTREAM_MYSQL_PORT": str(config.mysql.port),
        "CRYPTOSTREAM_SIMULATOR_PORT": str(config.simulator.port),
        "CRYPTOSTREAM_SIMULATOR_MIRROR_PORT": str(config.simulator.mirror_port),
        "CRYPTOSTREAM_SIMULATOR_WS_PORT": str(config.simulator.ws_port),
        "CRYPTOSTREAM_METRICS_PRODUCER_PORT": str(config.metrics.producer_port),
        "CRYPTOSTREAM_METRICS_PROCESSOR_PORT": str(config.metrics.processor_port),
        "CRYPTOSTREAM_DASHBOARD_PORT": str(config.dashboard.port),
        "CRYPTOSTREAM_SECRETS_DIR": str(config.secrets_dir / "container"),
        "CRYPTOSTREAM_EXCHANGE_SYMBOLS": ",".join(config.exchange.symbols),
        "CRYPTOSTREAM_EXCHANGE_POLL_INTERVAL": f"{config.exchange.poll_interval}s",
        "CRYPTOSTREAM_PROCESSOR_WINDOW": f"{config.processor.window}s",
        "CRYPTOSTREAM_PROCESSOR_WATERMARK": f"{config.processor.watermark}s",
        "CRYPTOSTREAM_PROCESSOR_TRIGGER_INTERVAL": f"{config.processor.trigger_interval}s",
        "CRYPTOSTREAM_STATS_WRITE_INTERVAL": f"{config.stats.write_interval}s",
        "CRYPTOSTREAM_CHECKS_FRESHNESS": f"{config.checks.freshness}s",
    })
    if simulated:
        env["CRYPTOSTREAM_EXCHANGE_BASE_URLS"] = config.simulator.base_urls
        env["CRYPTOSTREAM_EXCHANGE_WS_BASE_URL"] = config.simulator.ws_url
    for service, image in (chosen or {}).items():
        env[f"CRYPTOSTREAM_{service.upper()}_IMAGE"] = image
    return env


def compose(config: Config, *args: str, env: dict[str, str] | None = None,
            capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(compose_command(*args), env=env or environment(config), check=False,
                          capture_output=capture, text=True)


def up(config: Config, simulated: bool, say) -> None:
    chosen = choose_images(config, say)
    container_secrets(config)
    env = environment(config, chosen, simulated)
    services = [*programs.COMPOSE_SERVICES] + ([programs.EXCHANGE_SIM] if simulated else [])
    say("docker compose up: " + ", ".join(f"{s}={chosen.get(s, chosen['app'])}" for s in services))
    # MySQL (with Kafka, which takes as long to start) first, brought up to date before the app
    # starts: its processor writes every table
    compose_up(env, *(service for service in services if service != programs.APP))
    wait_for("MySQL healthy", lambda: health(env, programs.MYSQL) == "healthy", 240, interval=2,
             timed_out=lambda _: "MySQL did not turn healthy in 240 s; see bin/logs --docker mysql")
    refresh_database(env)
    compose_up(env, *services)


def compose_up(env: dict[str, str], *services: str) -> None:
    if subprocess.run(compose_command("up", "-d", *services), env=env).returncode != 0:
        raise RuntimeError("docker compose up failed (see above); bin/logs --docker shows the containers' logs")


def health(env: dict[str, str], service: str) -> str:
    """Docker's health status of the service's container (starting, healthy, unhealthy), or ''."""
    found = subprocess.run(compose_command("ps", "-q", service), env=env, capture_output=True, text=True)
    container = found.stdout.strip()
    if not container:
        return ""
    state = subprocess.run(["docker", "inspect", "--format", "{{.State.Health.Status}}", container],
                           capture_output=True, text=True)
    return state.stdout.strip()


def refresh_database(env: dict[str, str]) -> None:
    """The MySQL init files again (docker/mysql/refresh.sh): the image's init ran them on a new
    data volume only, and a volume of an older version lacks this version's tables, grants and
    the dashboard's account. Idempotent."""
    done = subprocess.run(compose_command("exec", "-T", "mysql", "bash", "/usr/local/bin/cryptostream-mysql-refresh"),
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"could not bring the MySQL schema and accounts up to date: {done.stderr.strip()[-300:]}; "
                           f"bin/logs --docker mysql shows the server's side")


def down(config: Config, remove_volumes: bool) -> int:
    container_secrets(config)  # compose checks that the secret files exist, even to stop
    return compose(config, "down", *(["--volumes"] if remove_volumes else [])).returncode

