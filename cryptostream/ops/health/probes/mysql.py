"""MySQL as the checks read it: the named statements of sql/checks.sql and the live tables' columns."""
from __future__ import annotations

from cryptostream.core import db
from cryptostream.core.config import Config


def mysql_query(config: Config, name: str, params: tuple = (), **expand: str) -> list[tuple]:
    """One named statement of sql/checks.sql, as the application user; `expand` fills its
    {placeholders} (lists of %s: the values are still bound)."""
    connection = db.connect(config, timeout=5)
    try:
        with connection.cursor() as cursor:
            cursor.execute(db.named_statements("checks")[name].format(**expand), params)
            return cursor.fetchall()
    finally:
        connection.close()


def table_columns(config: Config) -> dict[str, dict[str, str]]:
    """The live tables' columns and types, from information_schema."""
    tables: dict[str, dict[str, str]] = {}
    for table, column, kind in mysql_query(config, "table_columns", (config.mysql.database,)):
        tables.setdefault(table, {})[column] = kind.decode() if isinstance(kind, bytes) else kind
    return tables
