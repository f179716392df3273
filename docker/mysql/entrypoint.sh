#!/bin/bash
# First start: create the system tables, root's password, the database and user from the
# MYSQL_* variables, run /docker-entrypoint-initdb.d; then run the server in the foreground.
set -euo pipefail
[ "${1:0:1}" = "-" ] && set -- mariadbd "$@"
# The image runs as mysql (so nothing in it, the log filter included, is root); started as
# root, the server switches to mysql itself.
as_mysql=()
[ "$(id -u)" = 0 ] && as_mysql=(--user=mysql)

secret() {  # value of $1, or of the file named by ${1}_FILE
  local name="$1" file_var="${1}_FILE"
  if [ -n "${!file_var:-}" ]; then cat "${!file_var}"; else printf '%s' "${!name:-}"; fi
}

sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/\\\\'/g")"; }

# The root password reaches the client through a 0600 option file, never a command line.
client_options() {
  local quoted
  quoted="$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
  ( umask 077; printf '[client]\nuser=root\npassword="%s"\n' "$quoted" > "$2" )
}

# Runs the SQL on stdin as root over the init socket: the official image's name for it, which
# init scripts call (docker/mysql/reader-user.sh)
docker_process_sql() { "${client[@]}" "$@"; }

initialise() {
  local root_password socket=/run/mysqld/init.sock options=/run/mysqld/init-client.cnf
  root_password="$(secret MYSQL_ROOT_PASSWORD)"
  [ -n "$root_password" ] || { echo "MYSQL_ROOT_PASSWORD(_FILE) is required" >&2; exit 1; }
  mariadb-install-db "${as_mysql[@]}" --datadir=/var/lib/mysql --auth-root-authentication-method=normal \
    --skip-test-db >/dev/null
  mariadbd "${as_mysql[@]}" --skip-networking --socket="$socket" &
  local pid=$!
  for _ in $(seq 60); do mariadb-admin --socket="$socket" ping >/dev/null 2>&1 && break; sleep 0.5; done
  client=(mariadb --protocol=socket --socket="$socket" -uroot)
  # install-db makes root@127.0.0.1, root@::1 and root@<hostname> without a password: only
  # root@localhost (the socket) stays, with the given password
  "${client[@]}" -N -e "SELECT CONCAT('DROP USER ', QUOTE(user), '@', QUOTE(host), ';') FROM mysql.user
                        WHERE (user = 'root' AND host <> 'localhost') OR user = ''" | "${client[@]}"
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
    if [ -n "${MYSQL_DATABASE:-}" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"; fi
    if [ -n "${MYSQL_USER:-}" ]; then
      echo "CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY $(sql_string "$(secret MYSQL_PASSWORD)");"
      [ -n "${MYSQL_DATABASE:-}" ] && echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';"
    fi
  } | "${client[@]}"
  client_options "$root_password" "$options"
  client=(mariadb --defaults-extra-file="$options" --protocol=socket --socket="$socket")
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "init: $f"; "${client[@]}" "${MYSQL_DATABASE:-mysql}" < "$f" ;;
      *.sh)  echo "init: $f"; . "$f" ;;
    esac
  done
  mariadb-admin --defaults-extra-file="$options" --socket="$socket" shutdown
  rm -f "$options"
  wait "$pid" || true
}

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
  [ -d /var/lib/mysql/mysql ] || initialise
  shift
  # LOAD DATA / INTO OUTFILE only inside a folder of its own, as the official image does
  exec mariadbd "${as_mysql[@]}" --secure-file-priv=/var/lib/mysql-files --character-set-server=utf8mb4 \
    --default-time-zone=+00:00 "$@"
fi
exec "$@"
