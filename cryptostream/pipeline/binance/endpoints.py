"""Binance's REST endpoints as this project uses them, their request weights and the per-minute
weight limit: one table for the clients and the simulated exchange that imitates them."""
from __future__ import annotations

from cryptostream.core.config import ExchangeConfig

TICKER_PATH = "/api/v3/ticker/price"
EXCHANGE_INFO_PATH = "/api/v3/exchangeInfo"
HISTORICAL_TRADES_PATH = "/api/v3/historicalTrades"
PING_PATH = "/api/v3/ping"
TIME_PATH = "/api/v3/time"

TICKER_WEIGHT_ONE = 2  # ticker/price?symbol=X
TICKER_WEIGHT_MANY = 4  # ticker/price with symbols=[...] or for every symbol
EXCHANGE_INFO_WEIGHT = 20  # with symbol, symbols or neither
HISTORICAL_TRADES_WEIGHT = 25
PING_WEIGHT = TIME_WEIGHT = 1

WEIGHT_LIMIT_PER_MINUTE = 6000  # REQUEST_WEIGHT per MINUTE, as exchangeInfo's rateLimits state it
USED_WEIGHT_HEADER = "X-MBX-USED-WEIGHT-1M"  # the minute's weight used so far, on every answer


def weight_pause(used_weight: int | None, exchange: ExchangeConfig, now: float) -> float:
    """Seconds to hold off so the minute's weight stays under the headroom; 0 when there is room."""
    if used_weight is None or used_weight < exchange.weight_limit_per_minute * exchange.weight_headroom:
        return 0.0
    return 60.0 - (now % 60.0)  # Binance's weight counter resets each clock minute
