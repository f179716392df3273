"""The live dashboard: candles per symbol from MySQL and the pipeline's health from the metrics
endpoints, on one read-only page served on 127.0.0.1 (server.py)."""
