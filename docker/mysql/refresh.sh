#!/bin/bash
# bin/up --docker runs this in the mysql container on every start: the init files again, so a
# data volume created by an older version gains the tables, grants and accounts this version's
# processor and dashboard need (the image's init runs them on a new volume only). Every one of
# them is idempotent: tables IF NOT EXISTS, grants, the reader account. As root over the socket;
# the password comes from the container's secret file, never a command line.
set -euo pipefail
docker_process_sql() {
  MYSQL_PWD="$(cat /run/secrets/mysql_root_password)" "$(command -v mariadb || command -v mysql)" \
    --protocol=socket -uroot "$@"
}
for file in /docker-entrypoint-initdb.d/*; do
  case "$file" in
    *.sql) docker_process_sql --database=crypto_streaming < "$file" ;;
    *.sh)  . "$file" ;;
  esac
done
