"""A local Spark standalone cluster (one master, N workers) run from the installed pyspark.

The processor needs no code change to use it, only configuration
(processor.spark_master = spark://127.0.0.1:PORT). Used by tests/e2e/scaleout/test_scale_spark.py and by hand:

    .venv/bin/python -m cryptostream.services.spark_cluster --workers 2
    CRYPTOSTREAM_PROCESSOR_SPARK_MASTER=spark://127.0.0.1:7077 bin/up --simulated

Every daemon listens on 127.0.0.1 only (SPARK_LOCAL_IP, --host) and runs in a process group
of its own, which its executors join, so killing a worker's group takes its executors with
it, as losing a machine would. Logs: <folder>/master.log, worker-<i>.log; executors' output
under <folder>/work/<app>/<executor>/.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests

from cryptostream.core.polling import wait_for
from cryptostream.core.ports import free_port

HOST = "127.0.0.1"
APP_NAME = "cryptostream-processor"  # processor/session.py's appName


def spark_home() -> Path:
    """The installed pyspark package: its bin/spark-class and jars/ are a Spark distribution."""
    import pyspark
    return Path(pyspark.__file__).resolve().parent


def daemon_environment(folder: Path, daemon_memory: str = "512m") -> dict[str, str]:
    return dict(os.environ, SPARK_HOME=str(spark_home()), SPARK_LOCAL_IP=HOST, SPARK_LOG_DIR=str(folder),
                SPARK_DAEMON_MEMORY=daemon_memory,  # the daemons only schedule; executors get their own heap
                # no REST submission server (its own port, on every interface)
                SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false")


def master_command(port: int, webui_port: int) -> list[str]:
    return [str(spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master",
            "--host", HOST, "--port", str(port), "--webui-port", str(webui_port)]


def worker_command(master_url: str, webui_port: int, work_dir: Path, cores: int, memory: str) -> list[str]:
    return [str(spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.worker.Worker", master_url,
            "--host", HOST, "--cores", str(cores), "--memory", memory, "--webui-port", str(webui_port),
            "--work-dir", str(work_dir)]


@dataclass
class Daemon:
    """One master or worker JVM, leader of its own process group."""
    name: str
    process: subprocess.Popen
    webui_port: int

    def state(self) -> dict[str, Any]:
        """The daemon's web UI /json (master: workers, apps; worker: its executors)."""
        reply = requests.get(f"http://{HOST}:{self.webui_port}/json/", timeout=3)
        reply.raise_for_status()
        return reply.json()

    def running(self) -> bool:
        return self.process.poll() is None

    def group(self) -> dict[int, bytes]:
        """pid -> command line of every process in the daemon's group: the JVM and, for a
        worker, its executors and their Python workers (Linux /proc)."""
        members: dict[int, bytes] = {}
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if os.getpgid(int(entry.name)) == self.process.pid:
                    members[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:  # exited meanwhile
                continue
        return members

    def kill(self, signum: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:  # the whole group is gone already
            pass

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the group (a worker then stops its executors), SIGKILL if it lingers."""
        self.kill(signal.SIGTERM)
        self.kill(signal.SIGCONT)  # a frozen (SIGSTOPped) group handles the TERM only once resumed
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self.kill(signal.SIGKILL)  # executors or a stuck JVM still in the group
        self.process.wait(timeout)


class SparkCluster:
    """Start with start() (or `with`), stop with stop(); every process is ours, by pid."""

    def __init__(self, folder: Path, workers: int = 2, port: int | None = None, webui_port: int | None = None,
                 cores: int = 1, memory: str = "1g") -> None:
        self.folder = Path(folder)
        self.worker_count = workers
        self.port = port or free_port()
        self.webui_port = webui_port or free_port()
        self.cores = cores
        self.memory = memory
        self.master: Daemon | None = None
        self.workers: list[Daemon] = []

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    def __enter__(self) -> "SparkCluster":
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self, timeout: float = 120) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self.master = self._launch("master", master_command(self.port, self.webui_port), self.webui_port)
            self._wait("the Spark master", lambda: self.state()["status"] == "ALIVE", timeout)
            for index in range(1, self.worker_count + 1):
                ui_port = free_port()
                command = worker_command(self.master_url, ui_port, self.folder / "work", self.cores, self.memory)
                self.workers.append(self._launch(f"worker-{index}", command, ui_port))
            self._wait(f"{self.worker_count} ALIVE workers",
                       lambda: len(self.alive_workers()) == self.worker_count, timeout)
        except BaseException:
            self.stop()
            raise

    def _launch(self, name: str, command: list[str], webui_port: int) -> Daemon:
        with open(self.folder / f"{name}.log", "ab") as log:
            process = subprocess.Popen(command, env=daemon_environment(self.folder), stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True, cwd=self.folder)
        return Daemon(name, process, webui_port)

    def _wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        def alive_and_ready() -> bool:
            dead = [d.name for d in self.daemons() if not d.running()]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited; see {self.folder}/{dead[0]}.log")
            return ready()
        wait_for(what, alive_and_ready, timeout, retry=(requests.RequestException, ValueError, KeyError),
                 timed_out=lambda last: f"{what} not ready after {timeout:.0f}s (logs in {self.folder})"
                                        + (f": {last}" if last else ""))

    def daemons(self) -> list[Daemon]:
        return ([self.master] if self.master else []) + self.workers

    def state(self) -> dict[str, Any]:
        """The master's view: workers (with state), active and completed applications."""
        if self.master is None:
            raise RuntimeError("the cluster is not started")
        return self.master.state()

    def alive_workers(self) -> list[dict[str, Any]]:
        return [w for w in self.state()["workers"] if w["state"] == "ALIVE"]

    def wait_for_alive_workers(self, count: int, timeout: float = 60) -> None:
        self._wait(f"{count} ALIVE workers", lambda: len(self.alive_workers()) == count, timeout)

    def running_app(self, name: str = APP_NAME) -> dict[str, Any] | None:
        apps = [a for a in self.state()["activeapps"] if a["name"] == name and a["state"] == "RUNNING"]
        return apps[-1] if apps else None

    def executors_by_worker(self, app_id: str) -> dict[str, list[dict[str, Any]]]:
        """Each running worker's executors of the application (from the worker's own /json)."""
        return {w.name: [e for e in w.state()["executors"] if e["appid"] == app_id]
                for w in self.workers if w.running()}

    def kill_worker(self, index: int) -> int:
        """kill -9 worker `index` (0-based) with its executors, as a lost machine; returns its pid."""
        worker = self.workers[index]
        worker.kill(signal.SIGKILL)
        worker.process.wait(30)
        return worker.process.pid

    def stop(self) -> None:
        """Workers first (they stop their executors), then the master."""
        for daemon in reversed(self.daemons()):
            daemon.stop()


def main(argv: list[str] | None = None) -> int:
    from cryptostream.core import config as config_module
    parser = argparse.ArgumentParser(prog="spark_cluster",
                                     description="Run a local Spark standalone cluster on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--folder", type=Path, help="logs and work dirs (default: CRYPTOSTREAM_HOME/spark-cluster)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=7077)
    parser.add_argument("--webui-port", type=int, default=8080)
    parser.add_argument("--cores", type=int, default=1, help="per worker")
    parser.add_argument("--memory", default="1g", help="per worker, for its executors")
    args = parser.parse_args(argv)
    folder = args.folder or config_module.load().var_dir / "spark-cluster"
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    with SparkCluster(folder, args.workers, args.port, args.webui_port, args.cores, args.memory) as cluster:
        print(f"master {cluster.master_url} (web UI http://{HOST}:{cluster.webui_port}), "
              f"{args.workers} workers; logs in {folder}", flush=True)
        print(f"run the processor on it: CRYPTOSTREAM_PROCESSOR_SPARK_MASTER={cluster.master_url} "
              "bin/up --simulated", flush=True)
        try:
            while not stop["now"] and all(d.running() for d in cluster.daemons()):
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
