"""Prepares the database: root's password on a new private instance, the schema, the app user."""
from __future__ import annotations

import mysql.connector

from cryptostream import db
from cryptostream.config import Config


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
            params = {"user": config.mysql.user, "password": config.mysql.password.reveal()}
            for statement in db.script("app_user"):
                cursor.execute(statement.format(database=name), params)
    finally:
        connection.close()
