"""The one error a bad configuration raises, whichever rule or reader finds it."""
from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""
