"""Security properties that hold for the whole tree."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from cryptostream.core.config import load
from tests.helpers.harness import PROJECT_DIR


def test_bandit_finds_nothing_of_medium_or_high_severity() -> None:
    """bandit reports no medium or high finding (each accepted one carries a nosec with its reason)."""
    bandit = Path(sys.executable).parent / "bandit"
    result = subprocess.run([str(bandit), "-q", "-r", str(PROJECT_DIR / "cryptostream"), "-ll", "-f", "txt"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def test_every_listener_binds_loopback_by_default() -> None:
    """The default configuration and the services bind 127.0.0.1 only."""
    config = load(env={})
    assert config.kafka.bootstrap_servers.startswith("127.0.0.1:")
    assert config.mysql.host == "127.0.0.1"
    sources = {name: (PROJECT_DIR / "cryptostream" / name).read_text()
               for name in ("services/kafka_server.py", "services/mysql_server.py", "core/metrics.py",
                            "simulator/server.py", "pipeline/processor/session.py")}
    assert "0.0.0.0" not in "".join(sources.values())
    assert "PLAINTEXT://127.0.0.1" in sources["services/kafka_server.py"]
    assert "--bind-address=127.0.0.1" in sources["services/mysql_server.py"]
    assert 'addr="127.0.0.1"' in sources["core/metrics.py"]
    assert '"SPARK_LOCAL_IP", "127.0.0.1"' in sources["pipeline/processor/session.py"]


def test_supervisord_socket_is_private_and_has_no_http_server() -> None:
    """supervisord is controlled through a 0700 unix socket; no inet_http_server anywhere."""
    for conf in (PROJECT_DIR / "conf" / "supervisord.conf", PROJECT_DIR / "docker" / "app" / "supervisord.conf"):
        text = conf.read_text()
        assert "[inet_http_server]" not in text
        assert re.search(r"\[unix_http_server\]\nfile = .*\nchmod = 0700", text), conf


def test_no_password_in_the_tree() -> None:
    """No committed file holds a password value: they are generated into var/secrets."""
    pattern = re.compile(r"(?i)(password|passwd)\w*\s*[=:]\s*['\"][^'\"\s]{6,}['\"]")  # a quoted literal
    hits = [str(f) for f in tree_files() if f.parts[0] != "tests"
            and pattern.search((PROJECT_DIR / f).read_text(errors="ignore"))]
    assert hits == []


def tree_files() -> list[Path]:
    """The project's own files: git's list in a checkout, else (an exported tree, a machine
    without git) every file but the generated folders."""
    if (PROJECT_DIR / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "ls-files"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
        return [Path(name) for name in listed.stdout.split()]
    generated = {".venv", "var", "build", "__pycache__", ".pytest_cache"}
    files = [f.relative_to(PROJECT_DIR) for f in PROJECT_DIR.rglob("*") if f.is_file()]
    return [f for f in files if not generated & set(f.parts) and not any(p.endswith(".egg-info") for p in f.parts)]


def test_a_password_from_the_environment_reaches_programs_as_a_file(tmp_path, monkeypatch) -> None:
    """CRYPTOSTREAM_MYSQL_PASSWORD is written to the app's 0600 password file and is not in
    the environment supervisord (and so every program) is given."""
    from cryptostream.ops import supervisor
    from cryptostream.ops.stack import secrets
    monkeypatch.setenv("CRYPTOSTREAM_MYSQL_PASSWORD", "from-the-environment#1")
    config = load(env={"CRYPTOSTREAM_HOME": str(tmp_path)})
    assert secrets.keep_from_environment(config)
    written = tmp_path / "secrets" / "mysql-password"
    assert written.read_text().strip() == "from-the-environment#1"
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    assert "CRYPTOSTREAM_MYSQL_PASSWORD" not in supervisor.environment(config)
    assert not secrets.keep_from_environment(config)  # already there: nothing to do
