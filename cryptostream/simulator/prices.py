"""The simulated exchange's prices: a seeded random walk per symbol, or a scripted sequence."""
from __future__ import annotations

import random
import threading
from collections import deque
from decimal import ROUND_HALF_EVEN, Decimal

START_PRICES = {"BTCUSDT": "97000", "ETHUSDT": "3600", "SOLUSDT": "240", "BNBUSDT": "650",
                "ADAUSDT": "0.95", "XRPUSDT": "2.4", "DOGEUSDT": "0.38", "LTCUSDT": "105"}
EIGHT_PLACES = Decimal("0.00000001")


class PricePath:
    """Deterministic prices: each symbol walks by up to ±0.1% a step from a seeded RNG,
    or cycles through a scripted list of prices."""

    def __init__(self, seed: int, script: dict[str, list[str]] | None = None) -> None:
        self._rng = random.Random(seed)
        self._script = {s: deque(p) for s, p in (script or {}).items()}
        self._prices = {s: Decimal(p) for s, p in START_PRICES.items()}
        self._lock = threading.Lock()

    @property
    def symbols(self) -> list[str]:
        return list(self._script or self._prices)

    def next_price(self, symbol: str) -> str:
        with self._lock:
            if self._script:
                prices = self._script[symbol]
                prices.rotate(-1)
                return prices[-1]
            step = Decimal(self._rng.uniform(-0.001, 0.001)).quantize(Decimal("0.000001"))
            price = (self._prices[symbol] * (1 + step)).quantize(EIGHT_PLACES, ROUND_HALF_EVEN)
            self._prices[symbol] = price
            return f"{price:.8f}"


def start_prices(path: PricePath) -> dict[str, str]:
    """Where each symbol's trades start (scripted symbols without a known price: 1)."""
    return {symbol: START_PRICES.get(symbol, "1") for symbol in path.symbols}
