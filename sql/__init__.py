"""The SQL files, installed as the package data cryptostream.sql (see cryptostream/shipped_files.py)."""
