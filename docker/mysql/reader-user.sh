#!/bin/bash
# The dashboard's SELECT-only account (sql/container_reader_user.sql), with the password of the
# mysql_reader_password secret. Sourced by the image's entrypoint at the first start (ours and
# the official mysql one both offer docker_process_sql: SQL on stdin, as root on the socket) and
# by refresh.sh on every bin/up --docker. The password reaches the server as hex in the SQL on
# stdin: never on a command line, never quoted by hand.
reader_password_hex="$(tr -d '\n' < /run/secrets/mysql_reader_password | od -An -v -tx1 | tr -d ' \n')"
[ -n "$reader_password_hex" ] || { echo "reader-user: /run/secrets/mysql_reader_password is empty" >&2; exit 1; }
{ echo "SET @reader_password = CONVERT(X'${reader_password_hex}' USING utf8mb4);"
  cat /usr/local/share/cryptostream/reader_user.sql
} | docker_process_sql --database=crypto_streaming
unset reader_password_hex
