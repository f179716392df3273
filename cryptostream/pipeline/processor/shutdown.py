"""Stopping the processor: on SIGTERM or SIGINT the running batch finishes, the query stops
and the Spark session goes, even when the signal reached the JVM too."""
from __future__ import annotations

import signal
import threading
from typing import Any

import structlog

from cryptostream.core import events

log = structlog.get_logger("processor")


def on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


def wait_for_end(query: Any, stopping: threading.Event) -> Any:
    """Block until the query ends or a signal arrives; returns the query's failure, if any."""
    from py4j.protocol import Py4JError
    try:
        while query.isActive and not stopping.is_set():
            query.awaitTermination(1)
        return None if stopping.is_set() else query.exception()
    except Py4JError:
        if stopping.is_set():  # the JVM was signalled too (e.g. kill of the group) and is gone
            return None
        raise


def quietly(stop: Any) -> None:
    """Stop a Spark object whose JVM may already be going (a signal to the whole group)."""
    try:
        stop()
    except Exception as exc:  # noqa: BLE001 - py4j errors once the JVM is gone
        log.info(events.JVM_ALREADY_STOPPED, detail=type(exc).__name__)
