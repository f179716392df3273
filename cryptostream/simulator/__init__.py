"""The simulated exchange: Binance's REST and WebSocket API on 127.0.0.1, with a reproducible
trade tape and every fault the real exchange can have."""
