#!/bin/bash
# First start: create the system tables, root's password, the database and user from the
# MYSQL_* variables, run /docker-entrypoint-initdb.d; then run the server in the foreground.
set -euo pipefail
[ "${1:0:1}" = "-" ] && set -- mariadbd "$@"

secret() {  # value of $1, or of the file named by ${1}_FILE
  local name="$1" file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ]; then cat "${!file_var}"; else printf '%s' "${!name:-}"; fi
}

sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")"; }

initialise() {
  local root_password socket=/run/mysqld/init.sock
  root_password="$(secret MYSQL_ROOT_PASSWORD)"
  [ -n "$root_password" ] || { echo "MYSQL_ROOT_PASSWORD(_FILE) is required" >&2; exit 1; }
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=normal \
    --skip-test-db >/dev/null
  mariadbd --user=mysql --skip-networking --socket="$socket" &
  local pid=$!
  for _ in $(seq 60); do mariadb-admin --socket="$socket" ping >/dev/null 2>&1 && break; sleep 0.5; done
  client=(mariadb --protocol=socket --socket="$socket" -uroot)
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
    if [ -n "${MYSQL_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"; fi
    if [ -n "${MYSQL_USER:-}" ]; then
      echo "CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY $(sql_string "$(secret MYSQL_PASSWORD)");"
      [ -n "${MYSQL_DATABASE:-}" ] && echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';"
    fi
  } | "${client[@]}"
  client+=(-p"$root_password")
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "init: $f"; "${client[@]}" "${MYSQL_DATABASE:-mysql}" < "$f" ;;
      *.sh)  echo "init: $f"; . "$f" ;;
    esac
  done
  mariadb-admin --socket="$socket" -uroot -p"$root_password" shutdown
  wait "$pid" || true
}

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
  [ -d /var/lib/mysql/mysql ] || initialise
  shift
  exec mariadbd --user=mysql --character-set-server=utf8mb4 --default-time-zone=+00:00 "$@"
fi
exec "$@"
