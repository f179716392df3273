# Sourced by every bin/ script: finds the project, makes sure the system packages and the
# virtualenv exist (installing them on first use), and sets VENV_BIN.
# Variables: CRYPTOSTREAM_VENV (default ./.venv), CRYPTOSTREAM_PYTHON (default python3; as root
# /usr/bin/python3, see below).

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${CRYPTOSTREAM_VENV:-$PROJECT_DIR/.venv}"
VENV_BIN="$VENV/bin"
# As root the servers run as an unprivileged user (cryptostream/ops/service_user.py), which must
# be able to run the virtualenv's interpreter: the system one, not one under root's home.
if [ "$(id -u)" = 0 ] && [ -z "${CRYPTOSTREAM_PYTHON:-}" ]; then PYTHON=/usr/bin/python3; else PYTHON="${CRYPTOSTREAM_PYTHON:-python3}"; fi
export PATH="$PATH:/usr/sbin:/sbin"

CURRENT_STEP="starting"
step() { CURRENT_STEP="$*"; printf '==> %s\n' "$*"; }

# Any failing command stops the script with one line: the step, the command and what to do.
on_error() {
  local rc=$? cmd=$BASH_COMMAND
  printf 'error: step "%s" failed (exit %s) running: %s\n' "$CURRENT_STEP" "$rc" "$cmd" >&2
  printf '  fix the cause shown above, then run the same command again (%s)\n' "$0" >&2
  exit "${SETUP_FAILED_EXIT:-$rc}"
}

# Stops with a message; check commands set SETUP_FAILED_EXIT=3 (UNKNOWN: could not check).
fail() { printf 'error: %s\n' "$*" >&2; exit "${SETUP_FAILED_EXIT:-1}"; }
set -E
trap on_error ERR

missing_system_packages() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  command -v mariadbd >/dev/null || command -v mysqld >/dev/null || missing+=(mariadb-server)
  command -v mariadb >/dev/null || command -v mysql >/dev/null || missing+=(mariadb-client)
  "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3 python3-venv)
  echo "${missing[@]}"
}

ensure_system_packages() {
  local missing
  missing="$(missing_system_packages)"
  [ -z "$missing" ] && return 0
  apt_install $missing
}

# Optional tools, each as command:package; without root they are named and left out:
#   ensure_optional "what goes without them" promtool:prometheus chromium:chromium
ensure_optional() {
  local without=$1 missing=() pair
  shift
  for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt_install "${missing[@]}"
  else
    echo "warning: not installed: ${missing[*]} (sudo apt-get install -y ${missing[*]}); $without" >&2
  fi
}

apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing system packages: $*"
    # keep Debian from starting the packages' own services (MariaDB, Prometheus): the stack runs
    # private instances, on 127.0.0.1 only
    local policy=/usr/sbin/policy-rc.d created_policy=""
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created_policy=1; fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    if [ -n "$created_policy" ]; then rm -f "$policy"; fi
  else
    fail "missing system packages; install them with: sudo apt-get install -y $*"
  fi
}

check_versions() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
    || fail "Python 3.10+ is required ($PYTHON is $("$PYTHON" --version 2>&1))"
  local java_major
  java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p')"
  [ "${java_major:-0}" -ge 17 ] 2>/dev/null \
    || fail "Java 17+ is required (found ${java_major:-none}); install openjdk-17-jre-headless"
}

ensure_venv() {
  local stamp="$VENV/.cryptostream-setup" want lock="$PROJECT_DIR/conf/requirements.lock"
  local base
  base="$("$PYTHON" -c 'import sys; print(sys.base_prefix)')"
  # the lock is in the stamp: a changed pin reinstalls
  want="$({ cat "$PROJECT_DIR/setup.cfg" "$PROJECT_DIR/pyproject.toml" "$lock"; echo "$base"; } | sha256sum | cut -c1-16)"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return 0
  if [ ! -x "$VENV_BIN/python" ] || [ "$("$VENV_BIN/python" -c 'import sys; print(sys.base_prefix)')" != "$base" ]; then
    step "creating virtualenv $VENV with $PYTHON"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
  fi
  step "installing Python packages into $VENV (pyspark is ~300 MB the first time)"
  # Every package exactly as locked (extras test and report included), each download checked
  # against the lock's hashes (pip refuses a dependency the lock lacks); then the project
  # itself, editable, without resolving again. --use-pep517: the system pip (23.0) would
  # otherwise install the pyspark sdist with the legacy setup.py, leaving no cached wheel.
  "$VENV_BIN/pip" install --disable-pip-version-check --progress-bar off -q --require-hashes --use-pep517 -r "$lock"
  "$VENV_BIN/pip" install --disable-pip-version-check --progress-bar off -q --no-deps -e "$PROJECT_DIR"
  echo "$want" >"$stamp"
}

bootstrap() {
  ensure_system_packages
  check_versions
  ensure_venv
}

# --- Docker (bin/up --docker, bin/docker-engine, the container tests) ---

ensure_docker_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "missing packages for the container stack; install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
}

# Runs a daemon in the background without the caller's open files beyond stdin/out/err: an
# inherited descriptor lives as long as the daemon, so a lock the caller held (CI's
# `flock /tmp/cs-stack.lock .ci/run`) would never be released.
start_detached() {
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
    done
    # a session of its own: stopping the caller's process group (a CI job, a test loop) must not
    # take the daemon, and every other stack using it, down with it
    exec setsid nohup "$@"
  ) &
}

# Starts dockerd if none answers. Host networking only: no bridge, no iptables rules, no NAT
# (containers here talk over 127.0.0.1 and private-range addresses are off limits).
ensure_docker_engine() {
  docker info >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || { echo "the Docker engine is not running and starting it needs root" >&2; return 1; }
  step "starting the Docker engine (host networking only; log: /var/log/cryptostream-dockerd.log)"
  start_detached dockerd --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    </dev/null >/var/log/cryptostream-dockerd.log 2>&1
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  echo "the Docker engine did not start; see /var/log/cryptostream-dockerd.log" >&2
  return 1
}
