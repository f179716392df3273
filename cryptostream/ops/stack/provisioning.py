"""Provisions the database: installs the schema (with its migrations) and the least-privilege application user."""
from __future__ import annotations

import mysql.connector

from cryptostream.core import db
from cryptostream.core.config import Config

# The pipeline's tables (sql/schema.sql), in the order backups list them.
TABLES = ("moving_averages", "rejected_messages", "stream_progress", "counted_ranges", "pipeline_stats",
          "message_latency")
# What bin/rebuild recomputes from the prices in Kafka; pipeline_stats is history Kafka does not hold.
DERIVED_TABLES = TABLES[:4]


def _admin_connection(config: Config):
    """root over the private instance's socket, with the generated password it was given before
    it first listened (services/mysql_server.py)."""
    return mysql.connector.connect(unix_socket=str(db.admin_socket(config)), user=db.ADMIN_USER,
                                   password=db.admin_password(config).reveal(), autocommit=True, use_pure=True)


def bootstrap(config: Config) -> None:
    """Create the database and tables, the least-privilege application user and the dashboard's
    read-only user (idempotent)."""
    connection = _admin_connection(config)
    name = config.mysql.database
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4")
            cursor.execute(f"USE `{name}`")
            for statement in db.script("schema"):
                cursor.execute(statement)
            add_missing_columns(cursor, name)
            accounts = {"app_user": (config.mysql.user, config.mysql.password),
                        "reader_user": (config.dashboard.user, db.reader_password(config))}
            for script, (user, password) in accounts.items():
                params = {"user": user, "password": password.reveal()}
                for statement in db.script(script):
                    cursor.execute(statement.format(database=name), params)
    finally:
        connection.close()


def add_missing_columns(cursor, database: str) -> None:
    """Bring tables made by an older schema.sql up to date, retire old ones (sql/migrations.sql)."""
    migrations = dict(db.named_statements("migrations"))  # a copy: the parsed file is cached
    cursor.execute(migrations.pop("existing_columns"), (database,))
    existing = {row[0] for row in cursor.fetchall()}
    for name, statement in migrations.items():
        column, _, retiring = name.partition("/")
        if (column in existing) == bool(retiring):  # a column to add is missing; a table to retire is there
            cursor.execute(statement)


def empty_statements(config: Config) -> list[str]:
    """DELETE of every row of the tables recomputed from Kafka (bin/rebuild, the benchmark)."""
    database = config.mysql.database
    return [f"DELETE FROM `{database}`.`{table}`" for table in DERIVED_TABLES]  # nosec B608 - constants


def empty_tables(config: Config) -> None:
    """empty_statements() as the private instance's administrator."""
    connection = db.connect(config, admin=True)
    try:
        with connection.cursor() as cursor:
            for statement in empty_statements(config):
                cursor.execute(statement)
        connection.commit()
    finally:
        connection.close()
