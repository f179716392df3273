"""The sink's MySQL connection: work run in one transaction, transient errors retried with
backoff on a fresh connection."""
from __future__ import annotations

import time
from typing import Any, Callable, TypeVar

import mysql.connector
import structlog

from cryptostream.core import db, events
from cryptostream.core.db import describe
from cryptostream.core.backoff import Backoff
from cryptostream.core.config import Config

log = structlog.get_logger("sink")
T = TypeVar("T")
__all__ = ["Transactions", "describe"]


class Transactions:
    """One long-lived connection; reconnects and retries transient errors with backoff."""

    TRANSIENT = (mysql.connector.errors.OperationalError, mysql.connector.errors.InterfaceError,
                 mysql.connector.errors.InternalError)

    def __init__(self, config: Config) -> None:
        self.config = config
        self._connection = None

    def run(self, work: Callable[[Any], T], commit: bool, attempts: int | None = None) -> tuple[T, int]:
        """(work(cursor), attempts it took), committed or rolled back; the last transient error,
        or any other at once, is raised. `attempts` defaults to processor.mysql_retries."""
        backoff = Backoff(0.5, 10.0)
        attempts = attempts or self.config.processor.mysql_retries
        for attempt in range(1, attempts + 1):
            try:
                connection = self._connect()
                with connection.cursor() as cursor:
                    result = work(cursor)
                connection.commit() if commit else connection.rollback()
                return result, attempt
            except self.TRANSIENT as exc:
                self._drop_connection()
                if attempt == attempts:
                    raise
                delay = backoff.next_delay()
                log.warning(events.MYSQL_RETRY, attempt=attempt, of=attempts, error=describe(exc),
                            retry_in_s=round(delay, 2))
                time.sleep(delay)
            except Exception:
                self._drop_connection()
                raise
        raise AssertionError("unreachable")

    def healthy(self, ping: str) -> bool:
        """Does MySQL answer `ping` now (one attempt, fresh connection)?"""
        self._drop_connection()
        try:
            with self._connect().cursor() as cursor:
                cursor.execute(ping)
                cursor.fetchall()
            return True
        except Exception:  # noqa: BLE001 - any failure means "not healthy"; the caller re-raises its own
            self._drop_connection()
            return False

    def _connect(self) -> Any:
        if self._connection is None or not self._connection.is_connected():
            self._connection = db.connect(self.config)
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - the connection is being discarded anyway
                pass
        self._connection = None

    def close(self) -> None:
        self._drop_connection()
