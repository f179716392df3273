"""weekly-check's reading of sql/schema.sql: every table, columns only (no key clauses)."""
from __future__ import annotations

from cryptostream.ops.stack.provisioning import TABLES
from cryptostream.ops.health.weekly_check import declared_columns


def test_declared_columns_are_columns_of_every_table() -> None:
    declared = declared_columns()
    assert set(declared) == set(TABLES)
    names = [name for columns in declared.values() for name in columns]
    assert all(name.islower() for name in names), names  # PRIMARY/UNIQUE/KEY lines are not columns
    assert declared["moving_averages"]["vwap"] == "decimal(32,12)"
    assert declared["counted_keys"]["key_list"] == "longblob"
