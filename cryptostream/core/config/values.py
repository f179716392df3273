"""Parsing the text of a setting, from the file or the environment, into the typed value its
field declares; a ValueError says what is expected."""
from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import fields
from typing import Any
from urllib.parse import urlsplit

from cryptostream.core.config.sections import SYMBOL_PATTERN, Duration, Port, Secret, Symbols, Urls

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
                 "minute": 60, "minutes": 60, "h": 3600, "hour": 3600, "hours": 3600,
                 "d": 86400, "day": 86400, "days": 86400}
_MEMORY = re.compile(r"^([1-9]\d{0,8})([kmgt])$", re.IGNORECASE)  # what both -Xmx and Spark accept
_MEMORY_SHIFT = {"k": 10, "m": 20, "g": 30, "t": 40}


def _duration(text: str) -> Duration:
    match = _DURATION.match(text)
    if not match:
        raise ValueError("expected a duration such as 30s, 1m, 2d or 1.5")
    seconds = float(match.group(1)) * _UNIT_SECONDS.get(match.group(2) or "s", 1)
    if not math.isfinite(seconds):  # a few hundred digits overflow to inf
        raise ValueError("expected a finite duration")
    return Duration(seconds)


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError("expected a whole number") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("expected a number") from None
    if not math.isfinite(value):  # float() accepts nan and inf, and nan slips through every range check
        raise ValueError("expected a finite number")
    return value


def _port(text: str) -> Port:
    value = _int(text)
    if not 1 <= value <= 65535:
        raise ValueError("expected a port between 1 and 65535")
    return Port(value)


def _symbols(text: str) -> Symbols:
    items = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    bad = [s for s in items if not SYMBOL_PATTERN.match(s)]
    if not items or bad:
        raise ValueError(f"expected symbols matching {SYMBOL_PATTERN.pattern}, bad: {bad or 'none given'}")
    repeated = sorted(s for s, count in Counter(items).items() if count > 1)
    if repeated:  # one symbol twice would be polled, published and counted twice
        raise ValueError(f"expected each symbol once, repeated: {', '.join(repeated)}")
    return Symbols(items)


def _urls(text: str) -> Urls:
    items = tuple(u.strip().rstrip("/") for u in text.split(",") if u.strip())
    bad = [u for u in items if not re.match(r"^https?://[^\s/]+", u) or not url_port_ok(u)]
    if not items or bad:
        raise ValueError(f"expected http(s) URLs with ports 1-65535, bad: {bad or 'none given'}")
    return Urls(items)


def url_port_ok(url: str) -> bool:
    """Whether the URL's port, if it names one, is a number from 1 to 65535."""
    try:
        port = urlsplit(url).port
    except ValueError:  # not a number, or above 65535
        return False
    return port is None or port >= 1


def memory_bytes(text: str) -> int | None:
    """Bytes of a JVM size such as 512m or 2g; None when it is not one."""
    match = _MEMORY.match(text)
    return int(match.group(1)) << _MEMORY_SHIFT[match.group(2).lower()] if match else None


_PARSERS = {Duration: _duration, Port: _port, Symbols: _symbols, Urls: _urls, bool: _bool,
            int: _int, float: _float, str: str.strip, Secret: Secret}


def _field_type(section_cls: type, name: str) -> type:
    hints = {"Duration": Duration, "Port": Port, "Symbols": Symbols, "Urls": Urls, "bool": bool,
             "int": int, "float": float, "str": str, "Secret": Secret}
    return hints[next(f.type for f in fields(section_cls) if f.name == name)]


def parse(section_cls: type, name: str, text: str) -> Any:
    """The value of field `name` of a section dataclass, read from its text."""
    return _PARSERS[_field_type(section_cls, name)](text)
