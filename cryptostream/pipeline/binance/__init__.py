"""Binance's public API as the producer uses it: REST prices and trades, the trade WebSocket,
the symbol list, and the request-weight limits."""
