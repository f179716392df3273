"""Prepares the database: root's password on a new private instance, the schema, the app user."""
from __future__ import annotations

import mysql.connector

from cryptostream import db
from cryptostream.config import Config

# The pipeline's tables (sql/schema.sql), in the order backups list them.
TABLES = ("moving_averages", "rejected_messages", "stream_progress", "counted_keys")


def _admin_connection(config: Config):
    """Root over the private instance's socket; on a brand-new instance root has no password yet."""
    password = db.admin_password(config).reveal()
    socket = str(db.admin_socket(config))
    try:
        return mysql.connector.connect(unix_socket=socket, user=db.ADMIN_USER, password=password,
                                       autocommit=True, use_pure=True)
    except mysql.connector.errors.ProgrammingError:
        connection = mysql.connector.connect(unix_socket=socket, user=db.ADMIN_USER, password="",
                                             autocommit=True, use_pure=True)
        with connection.cursor() as cursor:
            cursor.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (password,))
        return connection


def bootstrap(config: Config) -> None:
    """Create the database and tables, and the least-privilege application user (idempotent)."""
    connection = _admin_connection(config)
    name = config.mysql.database
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
            cursor.execute(f"USE `{name}`")
            for statement in db.script("schema"):
                cursor.execute(statement)
            add_missing_columns(cursor, name)
            params = {"user": config.mysql.user, "password": config.mysql.password.reveal()}
            for statement in db.script("app_user"):
                cursor.execute(statement.format(database=name), params)
    finally:
        connection.close()


def add_missing_columns(cursor, database: str) -> None:
    """Bring tables made by an older schema.sql up to date (sql/migrations.sql)."""
    migrations = dict(db.named_statements("migrations"))  # a copy: the parsed file is cached
    cursor.execute(migrations.pop("existing_columns"), (database,))
    existing = {row[0] for row in cursor.fetchall()}
    for column, statement in migrations.items():
        if column not in existing:
            cursor.execute(statement)


def empty_tables(config: Config) -> None:
    """Delete every row of the pipeline's tables, as the private instance's administrator."""
    connection = db.connect(config, admin=True)
    try:
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"DELETE FROM `{table}`")  # nosec B608 - table names are constants
        connection.commit()
    finally:
        connection.close()
