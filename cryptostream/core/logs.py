"""Structured JSON logging for every cryptostream process.

One JSON object per line on unbuffered stdout; supervisord owns the files and rotation.
Library loggers (kafka-python, py4j, urllib3) go through the same renderer.
"""
from __future__ import annotations

import logging
import sys

import structlog

_SHARED = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def _key_order(_logger: object, _method: str, event: dict) -> dict:
    """timestamp, level, component, event first: the columns a person scans for."""
    head = {k: event.pop(k) for k in ("timestamp", "level", "component", "event") if k in event}
    return {**head, **event}


def configure(component: str, level: str = "INFO") -> structlog.stdlib.BoundLogger:
    """Route structlog and stdlib logging to JSON lines tagged with `component`."""
    def add_component(_logger: object, _method: str, event: dict) -> dict:
        # not a contextvar: Spark calls back into Python on py4j threads that have none
        event.setdefault("component", component)
        return event

    structlog.configure(
        processors=[*_SHARED, add_component, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, add_component, structlog.stdlib.add_logger_name],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.dict_tracebacks,
                    _key_order,
                    structlog.processors.JSONRenderer(sort_keys=False)],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Chatty libraries: their INFO lines are noise at one poll per second.
    for noisy in ("kafka", "py4j", "urllib3", "mysql.connector"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return structlog.get_logger(component)
