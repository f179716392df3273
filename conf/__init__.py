"""Default configuration, installed as the package data cryptostream.conf (see cryptostream/core/shipped_files.py)."""
