"""Default configuration, installed as the package data cryptostream.conf (see cryptostream/shipped_files.py)."""
